"""Where the bytes go, chosen by URL.

    tcp://host:9100                    network printer (raw port 9100)
    file:///dev/usb/lp0                a device file (Linux usblp, parallel port)
    usb://04b8:0e15                    USB vendor:product via pyusb (python-escpos[usb])
    serial:///dev/ttyUSB0?baudrate=38400   serial via pyserial (python-escpos[serial])
    preview:///path/to/folder          writes NAME.bin (raw bytes) and NAME.png (picture)

Failures are detected on write, never by asking the printer for its status first:
status replies are unreliable on many models and would add a round trip to every sale.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

from printing.document import Document


class TransportError(Exception):
    """The printer could not take the job now (off, unplugged, paper out): retry later."""


class TransportConfigError(Exception):
    """The printer URL itself is wrong or a driver is missing: retrying will not help."""


class Transport(Protocol):
    url: str

    def send(self, data: bytes, doc: Document, name: str) -> None: ...


class TcpTransport:
    # A plain socket rather than escpos.printer.Network: the job is already rendered,
    # and Network only wraps connect/sendall while hiding the errno we report to the UI.
    def __init__(self, url: str, host: str, port: int, timeout_s: float) -> None:
        self.url, self.host, self.port, self.timeout_s = url, host, port, timeout_s

    def send(self, data: bytes, doc: Document, name: str) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise TransportError(f"{self.host}:{self.port}: {exc.strerror or exc}") from exc

    def probe(self) -> None:
        """Connect and hang up without a byte: tells an idle spooler the printer is back."""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s):
                pass
        except OSError as exc:
            raise TransportError(f"{self.host}:{self.port}: {exc.strerror or exc}") from exc


class FileTransport:
    def __init__(self, url: str, path: Path) -> None:
        self.url, self.path = url, path

    def send(self, data: bytes, doc: Document, name: str) -> None:
        try:
            # No O_CREAT: a missing device node means the printer is unplugged, and
            # creating a regular file there would swallow tickets silently.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as exc:
            raise TransportError(f"{self.path}: {exc.strerror or exc}") from exc

    def probe(self) -> None:
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND))
        except OSError as exc:
            raise TransportError(f"{self.path}: {exc.strerror or exc}") from exc


class EscposDeviceTransport:
    """USB and serial through python-escpos's printer classes (pyusb / pyserial)."""

    def __init__(self, url: str, kind: str, kwargs: dict[str, object]) -> None:
        self.url, self.kind, self.kwargs = url, kind, kwargs

    def send(self, data: bytes, doc: Document, name: str) -> None:
        from printing.escpos_render import escpos_env

        escpos_env()
        try:
            from escpos import printer
        except ImportError as exc:  # pragma: no cover - escpos is a dependency
            raise TransportConfigError(str(exc)) from exc
        cls = printer.Usb if self.kind == "usb" else printer.Serial
        if not cls.is_usable():
            extra = "usb" if self.kind == "usb" else "serial"
            raise TransportConfigError(
                f"{self.kind} printers need: pip install 'python-escpos[{extra}]'")
        dev = cls(**self.kwargs)
        try:
            dev.open()
            dev._raw(data)
        except Exception as exc:  # driver errors vary (USBError, SerialException, ...)
            raise TransportError(f"{self.url}: {exc}") from exc
        finally:
            # Closing a device that failed to open may fail too; the send error matters.
            with contextlib.suppress(Exception):
                dev.close()


class PreviewTransport:
    """The demo's printer: raw bytes and a PNG picture of each document in a folder."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder

    def send(self, data: bytes, doc: Document, name: str) -> None:
        from printing.png_render import render_png

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for suffix, write in ((".bin", lambda p: p.write_bytes(data)),
                                  (".png", lambda p: render_png(doc).save(p, format="PNG"))):
                final = self.folder / f"{name}{suffix}"
                tmp = final.with_name(final.name + ".tmp")
                write(tmp)
                os.replace(tmp, final)
        except OSError as exc:
            raise TransportError(f"{self.folder}: {exc.strerror or exc}") from exc

    def probe(self) -> None:
        if not os.access(self.folder, os.W_OK):
            raise TransportError(f"{self.folder}: not writable")


def open_transport(url: str, *, timeout_s: float = 5.0) -> Transport:
    """Build the transport a printer URL names (nothing is opened until ``send``)."""
    u = urlparse(url)
    scheme = u.scheme.lower()
    if scheme == "tcp":
        if not u.hostname:
            raise TransportConfigError(f"{url}: no host")
        return TcpTransport(url, u.hostname, u.port or 9100, timeout_s)
    if scheme == "file":
        return FileTransport(url, Path(unquote(u.path)))
    if scheme == "preview":
        return PreviewTransport(url, Path(unquote(u.netloc + u.path)).expanduser())
    if scheme == "usb":
        try:
            vid, pid = (int(x, 16) for x in (u.netloc or u.path.strip("/")).split(":"))
        except ValueError:
            raise TransportConfigError(f"{url}: expected usb://VID:PID in hex") from None
        return EscposDeviceTransport(url, "usb", {"idVendor": vid, "idProduct": pid,
                                                  "timeout": int(timeout_s * 1000)})
    if scheme == "serial":
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        try:
            kwargs: dict[str, object] = {"devfile": unquote(u.path),
                                         "baudrate": int(q.get("baudrate", 9600)),
                                         "timeout": timeout_s}
        except ValueError:
            raise TransportConfigError(f"{url}: baudrate must be a number") from None
        return EscposDeviceTransport(url, "serial", kwargs)
    raise TransportConfigError(f"{url}: unknown printer URL scheme {scheme!r}")
