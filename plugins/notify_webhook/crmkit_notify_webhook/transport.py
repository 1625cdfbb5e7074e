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
delivery run.
"""
from __future__ import annotations

import http.client
import io
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


class _DeadlineReader(io.RawIOBase):
    """Socket reads that never wait past the request's deadline."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline = sock, deadline

    def readable(self):
        return True

    def readinto(self, buffer):
        left = self.deadline[0] - time.monotonic()
        if left <= 0:
            raise TimedOut("the receiver did not answer in time")
        self.sock.settimeout(left)
        try:
            return self.sock.recv_into(buffer)
        except socket.timeout:
            raise TimedOut("the receiver did not answer in time") from None


class _Connection(http.client.HTTPConnection):
    """An HTTP(S) connection to a checked address, with a shared deadline."""

    def __init__(self, target: Target, connect_timeout: float, context=None):
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self.target, self.context = target, context
        self.deadline = [time.monotonic()]
        self.held: list | None = None      # writes held back to go out as one (see post)

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
        self.sock = _Socket(sock, self.deadline, self)

    def send_held(self):
        """Send the request line, headers and body held back as one write:
        http.client writes the head and the body separately, which costs the
        receiver a second wake-up (or a delayed ACK) per request."""
        held, self.held = self.held, None
        if held and self.sock is not None:
            self.sock.sendall(b"".join(held))


class _Socket:
    """The socket http.client sees: its file reads through the deadline."""

    def __init__(self, sock, deadline, conn):
        self._sock, self._deadline, self._conn = sock, deadline, conn

    def makefile(self, mode="rb", *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline), 65536)

    def sendall(self, data):
        if self._conn.held is not None:
            self._conn.held.append(bytes(data))
            return None
        left = self._deadline[0] - time.monotonic()
        if left <= 0:
            raise TimedOut("no time left to send")
        self._sock.settimeout(left)
        try:
            return self._sock.sendall(data)
        except socket.timeout:
            raise TimedOut("sending to the receiver timed out") from None

    def __getattr__(self, name):
        return getattr(self._sock, name)


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
                conn.held = []
                conn.request("POST", target.path, body=body, headers=headers)
                conn.send_held()
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                conn = None
                if reused and attempt == 1:
                    reused = False
                    continue  # the receiver closed an idle keep-alive connection: once more, anew
                raise ConnectionError(f"the receiver closed the connection: {exc}") from None
            except (OSError, http.client.HTTPException):
                conn.close()
                raise
            break
        try:
            body_read = resp.read(max_response + 1) if max_response else b""
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        truncated = len(body_read) > max_response or (not max_response and not resp.isclosed())
        if truncated or resp.will_close:
            conn.close()        # an unread rest, or the receiver said close: no reuse
        else:
            self.connections[target.key] = conn
        return Response(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()},
                        body_read[:max_response], truncated)

    def close(self):
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()
