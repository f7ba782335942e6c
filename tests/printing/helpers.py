"""Shared test helpers for printing: QR decoding and a counting TCP printer."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import zxingcpp
from PIL import Image


def decode_qr(png: Path | Image.Image) -> list[str]:
    img = Image.open(png) if isinstance(png, Path) else png
    return [r.text for r in zxingcpp.read_barcodes(img)
            if r.format == zxingcpp.BarcodeFormat.QRCode]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingPrinter:
    """A real listening socket that records every connection's bytes until EOF."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.received: list[bytes] = []
        self.got_job = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                chunks = []
                while data := conn.recv(65536):
                    chunks.append(data)
            self.received.append(b"".join(chunks))
            self.got_job.set()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone does not on Linux.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(5)
