"""Child process for the kill-during-group-commit test: several threads append to one
journal at once and print each key once ``append`` has returned (acknowledged)."""

from __future__ import annotations

import os
import sys
import threading

from sync.journal import Journal


def main() -> None:
    journal = Journal(sys.argv[1])
    threads = int(sys.argv[2])
    out = threading.Lock()

    def till(t: int) -> None:
        i = 0
        while True:
            key = journal.append("sale", {"t": t, "i": i})
            with out:  # one whole line per write, so a kill never splits a key
                os.write(1, f"{key}\n".encode())
            i += 1

    for t in range(threads):
        threading.Thread(target=till, args=(t,), daemon=True).start()
    os.write(1, b"ready\n")
    threading.Event().wait()


if __name__ == "__main__":
    main()
