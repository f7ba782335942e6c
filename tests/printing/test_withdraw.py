"""Withdrawn jobs never print; an idle spooler finds its printer back without printing."""

from __future__ import annotations

import socket
import threading
import uuid

from printing.spooler import Spooler
from printing.transports import TcpTransport
from tests.conftest import make_settings


class Listener:
    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.connected = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connected.set()
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                self.received.append(data)

    def close(self) -> None:
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_withdrawn_order_never_prints_and_probe_brings_printer_back(tmp_path):
    from printing.layout import printer_test_document

    port = _free_port()
    settings = make_settings("postgresql://unused/x", tmp_path, printer__retry_initial_s=0.05,
                             printer__retry_max_s=0.1, printer__timeout_s=1.0)
    changes = threading.Condition()
    seen = []

    def on_change(state) -> None:
        with changes:
            seen.append(state)
            changes.notify_all()

    sp = Spooler(settings, transport=TcpTransport(f"tcp://127.0.0.1:{port}", "127.0.0.1",
                                                  port, 1.0), on_change=on_change,
                 db_path=tmp_path / "spool.sqlite3")
    try:
        order = uuid.uuid4()
        sp.submit_documents([printer_test_document()], order_ref=str(order))
        with changes:
            assert changes.wait_for(lambda: seen and seen[-1].online is False, 10)
        assert sp.withdraw_order(order) == 1
        # Gone at once, or (caught mid-send) dropped when that attempt fails.
        with changes:
            assert changes.wait_for(lambda: not list(sp.pending()), 10)
        printer = Listener(port)
        try:
            with changes:
                assert changes.wait_for(lambda: seen[-1].online is True, 10)
            assert printer.connected.wait(5)
            assert all(data == b"" for data in printer.received)  # a knock, no paper
            assert list(sp.pending()) == []
        finally:
            printer.close()
    finally:
        sp.close()
