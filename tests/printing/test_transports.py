"""Printer URLs and the device-file transport; the key file's permissions."""

from __future__ import annotations

import os
import stat

import pytest

from core.tickets.keys import load_or_create_key
from printing.document import Document, Text
from printing.transports import (
    EscposDeviceTransport,
    FileTransport,
    PreviewTransport,
    TcpTransport,
    TransportConfigError,
    TransportError,
    open_transport,
)

DOC = Document("test", 32, (Text("x"),), paper_mm=58)


def test_urls_pick_the_right_transport():
    t = open_transport("tcp://10.0.0.5")
    assert isinstance(t, TcpTransport) and (t.host, t.port) == ("10.0.0.5", 9100)
    assert isinstance(open_transport("file:///dev/usb/lp0"), FileTransport)
    u = open_transport("usb://04b8:0e15")
    assert isinstance(u, EscposDeviceTransport)
    assert (u.kwargs["idVendor"], u.kwargs["idProduct"]) == (0x04B8, 0x0E15)
    s = open_transport("serial:///dev/ttyUSB0?baudrate=38400")
    assert s.kwargs["devfile"] == "/dev/ttyUSB0" and s.kwargs["baudrate"] == 38400
    p = open_transport("preview:///tmp/some where")
    assert isinstance(p, PreviewTransport) and str(p.folder) == "/tmp/some where"
    for bad in ("lpt://x", "usb://zz", "serial:///dev/ttyS0?baudrate=fast", "tcp://"):
        with pytest.raises(TransportConfigError):
            open_transport(bad)


def test_device_file_appends_and_a_missing_device_is_an_error_not_a_new_file(tmp_path):
    dev = tmp_path / "lp0"
    dev.write_bytes(b"")
    FileTransport("file://", dev).send(b"\x1b@abc", DOC, "j1")
    FileTransport("file://", dev).send(b"def", DOC, "j2")
    assert dev.read_bytes() == b"\x1b@abcdef"
    gone = tmp_path / "lp1"
    with pytest.raises(TransportError):
        FileTransport("file://", gone).send(b"x", DOC, "j3")
    assert not gone.exists()


def test_signing_key_file_is_0600_and_a_loose_mode_is_fixed(tmp_path):
    path = tmp_path / "keys" / "k.pem"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    again = load_or_create_key(path)
    assert again.key_id == first.key_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_paper_width_from_the_environment(monkeypatch, tmp_path):
    from config import load_settings

    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("BOXOFFICE_PRINTER__PAPER_MM", "58")
    assert load_settings().printer.paper_mm == 58


def test_spool_file_from_an_older_version_is_upgraded(tmp_path):
    import sqlite3

    from config import Settings
    from printing.spooler import Spooler

    db = tmp_path / "spool.sqlite3"
    with sqlite3.connect(db) as c:  # the first release's table, without request_key
        c.execute("create table jobs (id integer primary key autoincrement, kind text not null,"
                  " serial integer, duplicate integer not null default 0, order_ref text,"
                  " document text not null, data blob, state text not null default 'queued',"
                  " attempts integer not null default 0, last_error text, created_at real"
                  " not null, printed_at real, reported integer not null default 0,"
                  " report_key text not null)")
    settings = Settings(terminal={"data_dir": str(tmp_path)},
                        printer={"url": f"preview://{tmp_path / 'pv'}"})
    sp = Spooler(settings, db_path=db, start=False)
    try:
        assert sp.submit_documents([DOC], request_key="k") == sp.submit_documents(
            [DOC], request_key="k")
    finally:
        sp.close()
