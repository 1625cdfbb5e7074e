"""A real SMTP server (aiosmtpd) on 127.0.0.1 with scripted answers."""
from __future__ import annotations

import email
import socket
from email import policy

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts mail, keeping each whole message; ``rcpt_script`` and
    ``data_script`` hold answers to give (in order) before accepting."""

    def __init__(self):
        self.received: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_script: list[str] = []
        self.data_script: list[str] = []
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_script:
            return self.rcpt_script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_script:
            return self.data_script.pop(0)
        self.received.append(envelope.original_content or envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 accepted"

    def parsed(self):
        return [email.message_from_bytes(raw, policy=policy.default) for raw in self.received]


class SmtpServer:
    def __init__(self, port):
        self.port = port
        self.handler = Recorder()
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_env(monkeypatch):
    """SMTP settings pointing at a free loopback port (nothing listening yet)."""
    port = free_port()
    monkeypatch.setenv("CRMKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRMKIT_SMTP_PORT", str(port))
    monkeypatch.setenv("CRMKIT_SMTP_SECURITY", "plain")
    monkeypatch.setenv("CRMKIT_SMTP_TIMEOUT", "5")
    monkeypatch.setenv("CRMKIT_SMTP_FROM", "CRM <crm@shop.example>")
    monkeypatch.setenv("CRMKIT_SMTP_DOMAIN", "mail.shop.example")
    monkeypatch.delenv("CRMKIT_SMTP_USER", raising=False)
    monkeypatch.delenv("CRMKIT_SMTP_PASSWORD", raising=False)
    yield port
    from crmkit_notify_email.smtp import close_connections
    close_connections()


@pytest.fixture
def smtp_server(smtp_env):
    server = SmtpServer(smtp_env)
    server.start()
    yield server
    from crmkit_notify_email.smtp import close_connections
    close_connections()
    server.stop()


@pytest.fixture
def smtp_server_class():
    return SmtpServer
