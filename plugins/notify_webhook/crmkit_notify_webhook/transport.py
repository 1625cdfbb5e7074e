"""HTTP POSTs to receivers, safe against server-side request forgery.

A receiver's host is resolved once; every address it resolves to must be
public (or inside an allowed network), and the connection goes to the
address that was checked, so a second DNS answer cannot move it to an
internal one (DNS rebinding). TLS still verifies the certificate against the
host name. Redirects are never followed. The whole request, connect
included, has a deadline that every read and write honours, so a receiver
that drips its answer a byte at a time cannot hold a worker; at most
``max_response`` bytes of a body are read.

A ``Pool`` keeps one keep-alive connection per (host, port, address) for a
delivery run. The HTTP/1.1 exchange is this module's own small client (one
write per request, a bounded answer parser): ``http.client``'s header
parsing through the email package cost more than the rest of a delivery.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse

import attrs


class Refused(Exception):
    """The URL may not be called (bad URL, or an address that is not allowed)."""


class TimedOut(OSError):
    """The request's deadline passed."""


@attrs.frozen
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str          # the checked IP address connected to

    @property
    def key(self):
        return (self.scheme, self.host, self.port, self.address)


@attrs.frozen
class Response:
    status: int
    reason: str
    headers: dict
    body: bytes            # at most max_response bytes
    truncated: bool


def split_url(url: str):
    """(scheme, host, port, path) of an http(s) URL; Refused naming the problem."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"url: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("url: only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise Refused("url: no host")
    if parts.username or parts.password:
        raise Refused("url: credentials in the URL are not allowed (they would be logged); "
                      "put a token in the path or query")
    if any(ch in url for ch in "\r\n\t ") or any(ord(ch) < 32 for ch in url):
        raise Refused("url: spaces and control characters are not allowed")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def is_public(address) -> bool:
    """Is the address on the public internet (not loopback, private,
    link-local, shared, reserved, multicast, unspecified ...)?"""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in ipaddress.ip_network("64:ff9b::/96"):         # NAT64 of an IPv4 address
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    return ip.is_global and not ip.is_multicast


def _allowed(address, allow_networks) -> bool:
    ip = ipaddress.ip_address(address)
    if is_public(ip):
        return True
    candidates = [ip] + ([ip.ipv4_mapped] if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else [])
    return any(c.version == net.version and c in net for c in candidates for net in allow_networks)


def resolve(url: str, allow_networks=(), resolver=socket.getaddrinfo) -> Target:
    """Check the URL and resolve its host once; every address must be allowed."""
    scheme, host, port, path = split_url(url)
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [str(literal)]
    except ValueError:
        try:
            infos = resolver(host, port, 0, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
        if not addresses:
            raise OSError(f"cannot resolve {host}")
    refused = [a for a in addresses if not _allowed(a, allow_networks)]
    if refused:
        raise Refused(f"{host} resolves to {', '.join(refused)}: a loopback, private, link-local or "
                      f"reserved address (allow it with CRMKIT_WEBHOOK_ALLOW_NETWORKS)")
    return Target(scheme, host, port, path, addresses[0])


MAX_LINE = 65536          # a status or header line longer than this is a malformed answer
MAX_HEADERS = 100


class Malformed(http.client.HTTPException):
    """The receiver's answer is not HTTP/1.x as the client reads it."""


class _Reader:
    """Buffered reads from the connection's socket that never wait past the
    request's deadline (a receiver dripping its answer a byte at a time is
    cut at the deadline, not at the socket timeout of each read)."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.buf = sock, deadline, bytearray()

    def _fill(self) -> bool:
        left = self.deadline[0] - time.monotonic()
        if left <= 0:
            raise TimedOut("the receiver did not answer in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimedOut("the receiver did not answer in time") from None
        if not chunk:
            return False
        self.buf += chunk
        return True

    def line(self) -> bytes:
        """One line with its end (b"" at the end of the stream)."""
        while True:
            at = self.buf.find(b"\n")
            if at >= 0:
                out = bytes(self.buf[:at + 1])
                del self.buf[:at + 1]
                return out
            if len(self.buf) > MAX_LINE:
                raise Malformed("a status or header line is too long")
            if not self._fill():
                out = bytes(self.buf)
                self.buf.clear()
                return out

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the stream)."""
        while len(self.buf) < n and self._fill():
            pass
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


class _Connection:
    """One HTTP/1.1 keep-alive connection to a checked address: the request
    written in one send (request line, headers and body together: separate
    writes cost the receiver a second wake-up, or a delayed ACK, per
    request), the answer read by a small bounded parser (status, at most
    ``MAX_HEADERS`` headers, a body by Content-Length, chunks or to the
    close, at most ``max_response`` bytes of it), all within the request's
    deadline. No redirect is followed."""

    def __init__(self, target: Target, connect_timeout: float, context=None):
        self.target, self.timeout, self.context = target, connect_timeout, context
        self.deadline = [time.monotonic()]
        self.sock = None
        self.reader: _Reader | None = None
        host = f"[{target.host}]" if ":" in target.host else target.host
        default = 443 if target.scheme == "https" else 80
        self.host_header = host if target.port == default else f"{host}:{target.port}"

    def connect(self):
        left = self.deadline[0] - time.monotonic()
        if left <= 0:
            raise TimedOut("no time left to connect")
        try:
            sock = socket.create_connection((self.target.address, self.target.port),
                                            timeout=min(self.timeout, left))
        except socket.timeout:
            raise TimedOut(f"connecting to {self.target.host} timed out") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.target.scheme == "https":
            sock = (self.context or ssl.create_default_context()).wrap_socket(
                sock, server_hostname=self.target.host)
        self.sock = sock
        self.reader = _Reader(sock, self.deadline)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock, self.reader = None, None

    def send(self, body: bytes, headers: dict):
        lines = [f"POST {self.target.path} HTTP/1.1", f"Host: {self.host_header}",
                 f"Content-Length: {len(body)}"]
        for name, value in headers.items():
            value = str(value)
            if any(ch in value for ch in "\r\n\0") or any(ch in name for ch in ":\r\n\0 "):
                raise ValueError(f"header {name!r}: line breaks and control characters are not allowed")
            lines.append(f"{name}: {value}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        if self.sock is None:
            self.connect()
        left = self.deadline[0] - time.monotonic()
        if left <= 0:
            raise TimedOut("no time left to send")
        self.sock.settimeout(left)
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise TimedOut("sending to the receiver timed out") from None

    def answer(self, max_response: int):
        """``(status, reason, headers, body, truncated, reusable)`` of the answer."""
        reader = self.reader
        while True:
            line = reader.line()
            if not line:
                raise http.client.RemoteDisconnected("the receiver closed the connection without an answer")
            version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
            code, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
                raise Malformed(f"not an HTTP/1.x status line: {line[:80]!r}")
            status = int(code)
            headers = self._headers()
            if 100 <= status < 200 and status != 101:
                continue                        # 100 Continue and the like: the answer follows
            break
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if status in (101, 204, 304) or 100 <= status < 200:
            return status, reason.strip(), headers, b"", False, keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, truncated = self._chunks(max_response)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"].split(",")[0].strip())
            except ValueError:
                raise Malformed(f"Content-Length {headers['content-length'][:40]!r}") from None
            if length < 0:
                raise Malformed("a negative Content-Length")
            body = reader.read(min(length, max_response + 1))
            truncated = length > max_response
            if not truncated and len(body) < length:
                raise http.client.IncompleteRead(body, length - len(body))
        else:                                   # a body up to the close
            body = reader.read(max_response + 1)
            truncated = len(body) > max_response
            keep = False
        return status, reason.strip(), headers, body[:max_response], truncated, keep and not truncated

    def _headers(self) -> dict:
        headers: dict = {}
        for _ in range(MAX_HEADERS + 1):
            line = self.reader.line()
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise Malformed(f"not a header line: {line[:80]!r}")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        raise Malformed(f"more than {MAX_HEADERS} headers")

    def _chunks(self, max_response):
        reader, parts, size_read = self.reader, [], 0
        while True:
            line = reader.line()
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise Malformed(f"a chunk size {line[:40]!r}") from None
            if size == 0:
                while reader.line() not in (b"\r\n", b"\n", b""):   # trailers
                    pass
                return b"".join(parts), False
            if size_read + size > max_response:
                parts.append(reader.read(max_response + 1 - size_read))
                return b"".join(parts), True
            chunk = reader.read(size)
            if len(chunk) < size:
                raise http.client.IncompleteRead(chunk, size - len(chunk))
            parts.append(chunk)
            size_read += size
            reader.line()                        # the CRLF after the chunk


class Pool:
    """Keep-alive connections for one delivery run, one per (host, port, address)."""

    def __init__(self):
        self.connections: dict = {}

    def post(self, target: Target, body: bytes, headers: dict, *, connect_timeout, timeout,
             max_response) -> Response:
        conn = self.connections.pop(target.key, None)
        reused = conn is not None
        for attempt in (1, 2):
            if conn is None:
                conn = _Connection(target, connect_timeout)
            conn.deadline[0] = time.monotonic() + timeout
            try:
                conn.send(body, headers)
                status, reason, got, body_read, truncated, keep = conn.answer(max_response)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                conn = None
                if reused and attempt == 1:
                    reused = False
                    continue  # the receiver closed an idle keep-alive connection: once more, anew
                raise ConnectionError(f"the receiver closed the connection: {exc}") from None
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                raise
            break
        if keep:
            self.connections[target.key] = conn
        else:
            conn.close()        # an unread rest, or the receiver said close: no reuse
        return Response(status, reason, got, body_read, truncated)

    def close(self):
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()
