"""The transport's own HTTP/1.1 exchange against raw answers: chunked and
sized bodies, 1xx before the answer, closing and keep-alive, bounds and
malformed answers, the request written in one piece."""
import http.client
import socket
import threading

import pytest

from crmkit_notify_webhook.transport import Malformed, Pool, Target


class RawServer:
    """Answers each request on a connection with the next of ``answers`` (raw bytes)."""

    def __init__(self, answers):
        self.answers, self.requests, self.connections = list(answers), [], 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while self.answers:
                    while b"\r\n\r\n" not in data:
                        got = conn.recv(65536)
                        if not got:
                            break
                        data += got
                    if b"\r\n\r\n" not in data:
                        break
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    self.requests.append((head, rest[:length]))
                    data = rest[length:]
                    answer = self.answers.pop(0)
                    conn.sendall(answer)
                    if b"close" in answer.lower() or b"HTTP/1.0" in answer[:9]:
                        break

    def target(self):
        return Target("http", "receiver.test", self.port, "/hook?x=1", "127.0.0.1")


def post(pool, server, max_response=100):
    return pool.post(server.target(), b'{"a": 1}', {"Content-Type": "application/json", "webhook-id": "msg_1"},
                     connect_timeout=1, timeout=2, max_response=max_response)


def test_sized_chunked_and_1xx_answers_on_one_keep_alive_connection():
    server = RawServer([
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ])
    pool = Pool()
    try:
        first, second, third = post(pool, server), post(pool, server), post(pool, server)
    finally:
        pool.close()
    assert (first.status, first.body, first.truncated) == (200, b"hello", False)
    assert (second.status, second.reason, second.body) == (202, "Accepted", b"abcde")
    assert second.headers["x-a"] == "1, 2"
    assert (third.status, third.body) == (204, b"")
    assert server.connections == 1
    head, body = server.requests[0]
    assert head.startswith(b"POST /hook?x=1 HTTP/1.1\r\n") and b"Host: receiver.test:%d" % server.port in head
    assert body == b'{"a": 1}'


def test_bounded_bodies_and_close_are_not_reused():
    server = RawServer([
        b"HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\n" + b"e" * 1000,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"64\r\n" + b"c" * 100 + b"\r\n" * 2 + b"0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nto the close",
    ])
    pool = Pool()
    try:
        sized = post(pool, server, max_response=10)
        chunked = post(pool, server, max_response=10)
        to_close = post(pool, server)
    finally:
        pool.close()
    assert (sized.status, sized.body, sized.truncated) == (500, b"e" * 10, True)
    assert (chunked.body, chunked.truncated) == (b"c" * 10, True)
    assert (to_close.body, to_close.truncated) == (b"to the close", False)
    assert server.connections == 3            # neither a body with an unread rest nor HTTP/1.0 is reused


@pytest.mark.parametrize("answer, error", [
    (b"SMTP ready\r\n\r\n", Malformed),
    (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", Malformed),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", Malformed),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: close\r\n\r\nshort", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n", Malformed),
    (b"HTTP/1.1 200 OK\r\n" + b"X" * 70_000 + b"\r\n\r\n", Malformed),
])
def test_malformed_answers_are_errors(answer, error):
    server = RawServer([answer + b"" if b"close" in answer else answer])
    pool = Pool()
    try:
        with pytest.raises(error):
            post(pool, server)
    finally:
        pool.close()
    assert pool.connections == {}


def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent():
    server = RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    pool = Pool()
    try:
        with pytest.raises(ValueError):
            pool.post(server.target(), b"{}", {"User-Agent": "x\r\nEvil: 1"}, connect_timeout=1, timeout=2,
                      max_response=10)
    finally:
        pool.close()
    assert server.requests == []
