"""E-tickets and customer messages through a real SMTP server on loopback (aiosmtpd):
each ticket arrives as a PNG whose QR decodes to the signed token the gate accepts; the
customer's language; refunds, new dates and cancellations send their own message; a
worker killed after sending resends the same Message-ID; no address in the log.

The counter sells and refunds on its own cashier login, the worker (in process and as a
``boxoffice worker`` process) delivers on a worker login, the gate scans on its gate
login and the back office moves and cancels events on its admin login (carla signed in);
the owner's ``pctx`` reads and quiets the outbox between tests."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import text

from core.actors import authenticate
from core.backoffice.cancel import cancel_event
from core.backoffice.events import reschedule
from core.outbox import CustomerContact
from core.outbox.job import close_sinks, deliver_outbox
from core.sales import CashTender, checkout, open_shift, refund
from core.tickets import GateChecker
from printing.eticket import install
from tests.logins import psycopg_url
from tests.outbox.conftest import octx_for, settings_file
from tests.payments.conftest import hold, operator_id


@pytest.fixture(scope="module")
def sctx(pctx, terminal_logins):
    """mail-counter-1's own context: its cashier login, with the sandbox gateway."""
    return terminal_logins.new_context("mail-counter-1", "cashier", pctx.settings,
                                       pool_size=2, gateway=pctx.gateway)


@pytest.fixture(scope="module")
def seller(pctx, sctx, terminal_logins):
    a = terminal_logins.actor("mail-counter-1", "cashier", operator_id(pctx, "bruno"),
                              "cashier")
    open_shift(sctx, a, uuid.uuid4(), 100_000)
    return a


@pytest.fixture(scope="module")
def wctx(pctx, terminal_logins):
    """The worker's own context (its worker login)."""
    return terminal_logins.context("mail-worker", "worker", pctx.settings)


@pytest.fixture(scope="module")
def mctx(wctx, smtp, exchange):
    install()
    c = octx_for(wctx, exchange, smtp[1])
    yield c
    close_sinks(c)


def _quiet(pctx) -> None:
    with pctx.engine.begin() as c:
        c.execute(text("update outbox set sent_at = now() where sent_at is null"))


def _sell(sctx, seller, code: str, n: int, email: str, lang: str):
    h = hold(sctx, seller, code, n)
    return checkout(sctx, seller, uuid.uuid4(), h.hold_id, CashTender(h.total_minor),
                    contact=CustomerContact(email, lang, consent=True))


def _to(handler, address: str) -> list:
    return [m for m in handler.messages if m["To"] == address]


def _qr(png: bytes) -> list[str]:
    img = Image.open(io.BytesIO(png))
    return [r.text for r in zxingcpp.read_barcodes(img)
            if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_confirmation_carries_scannable_tickets_in_the_customers_language(
        pctx, mctx, smtp, seller, sctx, receiver, terminal_logins):
    _quiet(pctx)
    handler, _ = smtp
    sale = _sell(sctx, seller, "COMEDIA-HOJE", 2, "lucia@example.es", "es")
    res = deliver_outbox(mctx)
    assert res.sent == 2 and res.failed == 0  # the broker copy and the email
    [mail] = _to(handler, "lucia@example.es")
    assert mail["Subject"].startswith("Sus entradas: Noite de Comédia")
    assert mail["Content-Language"] == "es"
    assert "Gracias por su compra" in mail.get_body(("plain",)).get_content()
    pngs = [p.get_content() for p in mail.iter_attachments()
            if p.get_content_type() == "image/png"]
    assert len(pngs) == 2
    tokens = [t for png in pngs for t in _qr(png)]
    with pctx.engine.connect() as c:
        issued = [r[0] for r in c.execute(text("select token from tickets where order_id = :o"
                                                " order by serial"),
                                           {"o": sale.order.order_id})]
    assert sorted(tokens) == sorted(issued)
    gate = GateChecker(terminal_logins.context("mail-gate", "gate", pctx.settings),
                       terminal_logins.actor("mail-gate", "gate"), "A",
                       opens_before=timedelta(hours=12))
    results = [gate.scan(t, uuid.uuid4()) for t in tokens]
    assert all(r.accepted for r in results), results
    assert not gate.scan(tokens[0], uuid.uuid4()).accepted  # a second entry is refused
    # The same sale reached RabbitMQ, with the email's id.
    got = receiver.wait_for(1)
    mid = mail["X-BoxOffice-Message-Id"]
    assert got[mid]["type"] == "sale.completed"
    assert got[mid]["data"]["order_id"] == str(sale.order.order_id)


@pytest.mark.parametrize("lang,subject", [("pt-BR", "Seus ingressos: Tributo a Sinatra"),
                                          ("en", "Your tickets: Tributo a Sinatra")])
def test_languages(pctx, mctx, smtp, seller, sctx, lang, subject):
    handler, _ = smtp
    address = f"{lang.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    _sell(sctx, seller, "SINATRA", 1, address, lang)
    deliver_outbox(mctx)
    [mail] = _to(handler, address)
    assert mail["Subject"].startswith(subject)


def test_sale_without_an_address_sends_no_email(pctx, mctx, smtp, seller, sctx):
    handler, _ = smtp
    before = len(handler.messages)
    h = hold(sctx, seller, "SINATRA", 1)
    checkout(sctx, seller, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    deliver_outbox(mctx)
    assert len(handler.messages) == before


def test_refund_reschedule_and_cancellation_send_their_own_messages(pctx, mctx, smtp,
                                                                     seller, sctx,
                                                                     terminal_logins):
    handler, _ = smtp
    a, b = "refund-me@example.com", "moved@example.com"
    sale = _sell(sctx, seller, "MAGICA", 1, a, "en")
    _sell(sctx, seller, "MAGICA", 1, b, "pt-BR")
    refund(sctx, seller, uuid.uuid4(), sale.order.order_id, reason_code="customer_request")
    deliver_outbox(mctx)
    assert [m["Subject"] for m in _to(handler, a)][-1].startswith("Refund of order")

    desk = terminal_logins.context("mail-backoffice", "admin", pctx.settings)
    carla = terminal_logins.actor("mail-backoffice", "admin", operator_id(pctx, "carla"),
                                  "supervisor")
    with pctx.engine.connect() as c:
        starts = c.execute(text("select starts_at from events where code = 'MAGICA'")
                           ).scalar_one()
    reschedule(desk, carla, uuid.uuid4(), "MAGICA", starts + timedelta(days=1))
    deliver_outbox(mctx)
    moved = [m for m in _to(handler, b) if m["Subject"].startswith("Nova data")]
    assert len(moved) == 1
    # The refunded customer still has an order (refunded): they hear of the new date too.
    assert any(m["Subject"].startswith("New date") for m in _to(handler, a))

    c_addr = "canceled@example.com"
    _sell(sctx, seller, "BURLESCO", 2, c_addr, "es")
    cancel_event(desk, carla, uuid.uuid4(), "BURLESCO", reason="stage flooded",
                 signed_in=authenticate(desk.engine, "carla", "9999"))  # typed at the desk
    deliver_outbox(mctx)
    subjects = [m["Subject"] for m in _to(handler, c_addr)]
    assert sum(s.startswith("Cancelado: Cabaret Burlesco") for s in subjects) == 1
    # Each fanned-out email is sent once, however many passes run.
    before = len(handler.messages)
    deliver_outbox(mctx)
    assert len(handler.messages) == before


def test_killed_worker_resends_the_same_email_and_logs_no_address(pctx, smtp, exchange,
                                                                   seller, sctx, tmp_path,
                                                                   terminal_logins):
    _quiet(pctx)
    handler, port = smtp
    address = f"kill-{uuid.uuid4().hex[:6]}@example.com"
    _sell(sctx, seller, "COMEDIA-HOJE", 1, address, "pt-BR")
    with pctx.engine.begin() as c:  # the email goes first, so the kill follows it
        c.execute(text("update outbox set sent_at = now() where sent_at is null"
                       " and channel = 'broker'"))
    # And one the server refuses, quoting the address in its answer.
    refused = "refuse-me@example.com"
    _sell(sctx, seller, "COMEDIA-HOJE", 1, refused, "en")
    worker = terminal_logins.login("mail-worker", "worker")
    config = settings_file(tmp_path, psycopg_url(worker.url), exchange, port, lease_s=1,
                           max_attempts=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env["BOXOFFICE_CONFIG"] = str(config)
    worker = [sys.executable, "-m", "boxoffice_cli.main", "worker", "--interval", "0.2"]
    first = subprocess.run(worker, env={**env, "BOXOFFICE_TEST_CRASH_AT": "outbox_after_send"},
                           capture_output=True, timeout=120)
    assert first.returncode == -signal.SIGKILL, first.stderr.decode()[-2000:]
    assert len(_to(handler, address)) == 1
    second = subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        handler.wait_for(len(handler.messages) + 1, timeout=60)
        # The refused one: two attempts (max_attempts=2), then parked. A row has no event
        # to wait on: poll it, bounded.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with pctx.engine.connect() as c:
                parked = c.execute(text(
                    "select count(*) from outbox where parked_at is not null")).scalar_one()
            if parked:
                break
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    copies = _to(handler, address)
    assert len(copies) == 2 and len({m["Message-ID"] for m in copies}) == 1
    log = (tmp_path / "worker.jsonl").read_text()
    assert "outbox message delivered" in log and "outbox delivery failed" in log
    assert address not in log and refused not in log and "@example.com" not in log
    lines = [json.loads(x) for x in log.splitlines() if x.strip()]
    # The refusal was logged, its quoted address replaced.
    assert any("SMTPRecipientsRefused" in x["event"] and "<address>" in x["event"]
               for x in lines)
    assert parked == 1
    with pctx.engine.connect() as c:
        errors = [r[0] for r in c.execute(text(
            "select last_error from outbox where last_error is not null"))]
    assert errors and not any("@" in e for e in errors)


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 (the name smtplib checks) and its key."""
    import ipaddress
    from datetime import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test smtp")])
    now = dt.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, pem = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def test_starttls_and_login(pctx, seller, sctx, wctx, tmp_path):
    """A server that requires STARTTLS before AUTH and a login: the confirmation goes
    through with the configured credentials; a wrong password is a retried failure."""
    import ssl as ssl_

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
    from pydantic import SecretStr

    from config.settings import MailSettings
    from core.outbox.deliver import deliver_due
    from core.outbox.mail import EmailSink
    from tests.outbox.conftest import MailHandler, free_port, outbox_settings

    crt, pem = _self_signed(tmp_path)
    tls = ssl_.create_default_context(ssl_.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(crt, pem)

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == \
            (b"boxoffice", b"s3cret")
        return AuthResult(success=ok)

    handler, port = MailHandler(), free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port, tls_context=tls,
                     require_starttls=True, authenticator=auth, auth_required=True)
    ctl.start()
    try:
        _quiet(pctx)
        install()
        _sell(sctx, seller, "SINATRA", 1, "tls@example.com", "en")
        wrong = MailSettings(host="127.0.0.1", port=port, starttls=True, username="boxoffice",
                             password="nope", cafile=crt)
        res = deliver_due(wctx.engine, {"email": EmailSink(wctx.engine, wrong)},
                          outbox_settings(backoff_initial_s=0.01))
        assert res.failed == 1 and not handler.messages
        with pctx.engine.begin() as c:
            c.execute(text("update outbox set next_attempt_at = now() where sent_at is null"))
        right = wrong.model_copy(update={"password": SecretStr("s3cret")})
        res = deliver_due(wctx.engine, {"email": EmailSink(wctx.engine, right)},
                          outbox_settings())
        assert res.sent == 1
        assert [m["To"] for m in handler.messages] == ["tls@example.com"]
    finally:
        ctl.stop()
