"""Fixtures of the API tests (imported by each test module: a module named
conftest would shadow the other plugins' "from conftest import"): ``crmkit serve``
on a free loopback port against a database of its own, and a real HTTP
client (``http.client``). One server per test module and backend."""
from __future__ import annotations

import os

import pytest

from crmkit_web.testing import Client, Server, scratch_database  # noqa: F401  (the tests use them)

PG_ENV = "CRMKIT_TEST_POSTGRES_URL"


def backends():
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


def close_proxy():
    from crmkit.kernel.db import database
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()


@pytest.fixture(scope="module", params=backends())
def web_url(request, tmp_path_factory):
    """A fresh database owned by one test module (and one backend)."""
    url, drop = scratch_database(request.param, tmp_path_factory, "crmkit_web")
    yield url
    close_proxy()
    if drop:
        drop()


@pytest.fixture(scope="module")
def start_server(tmp_path_factory):
    """``start_server(url, **kw)`` -> a running Server, stopped after the module."""
    started = []

    def start(url, **kw):
        server = Server(url, log=tmp_path_factory.mktemp("log") / "server.log", **kw)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

