"""Download a client-given URL without letting it reach inside the deployment.

Each hop parses the URL, resolves the host once, refuses the hop if any resolved address is
refused, and then connects a socket to one of exactly those addresses; the Host header, SNI and
the certificate check use the host name. Nothing resolves the name a second time, so a DNS answer
that changes between check and connect (DNS rebinding) cannot redirect the request. Redirects are
followed by hand so that every hop goes through the same checks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from ipaddress import ip_address
from urllib.parse import urljoin

from medialayer.errors import MediaLayerError
from medialayer.fetch.addresses import IPAddress, check_address
from medialayer.fetch.urls import HttpTarget, parse_url
from medialayer.settings import Settings, get_settings

USER_AGENT = "MediaLayer/0.1"
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Maps a host name to the addresses to connect to. Tests inject one; the default asks the system.
Resolver = Callable[[str], Sequence[IPAddress | str]]


@dataclass(frozen=True)
class FetchedMedia:
    """A downloaded body and what the server said about it."""

    data: bytes = dataclasses.field(repr=False)
    content_type: str | None  # media type from the header, lower-case, without parameters
    final_url: str  # after redirects

    @property
    def size(self) -> int:
        return len(self.data)


def resolve_host(host: str) -> list[IPAddress]:
    """Every address the system resolver gives for ``host``, in its order, without duplicates."""
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    return addresses


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    settings: Settings | None = None,
    field: str = "url",
    resolver: Resolver = resolve_host,
    ssl_context: ssl.SSLContext | None = None,
    sink: Callable[[bytes], None] | None = None,
) -> FetchedMedia:
    """Download ``url`` (http or https) and return its body of at most ``max_bytes`` bytes.

    Raises ``MediaLayerError``: ``invalid_url`` for a malformed URL or a refused address (on any
    hop), ``file_too_large`` as soon as the body is known to exceed ``max_bytes``, and
    ``fetch_failed`` for DNS, connection, TLS and protocol failures, a non-2xx answer, too many
    redirects, or when the whole download outlasts ``settings.fetch_total_timeout_s``. Messages
    start with ``field`` (e.g. ``source_url``) so a client knows which of its URLs failed.
    ``ssl_context`` replaces the system trust store (tests, private CAs). With ``sink``, the body is
    handed to it chunk by chunk instead of being kept (``data`` is empty): large downloads stream.
    """
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    settings = settings or get_settings()
    deadline = _Deadline(settings.fetch_total_timeout_s)
    context = ssl_context or _default_ssl_context()
    current, label = url, field
    for _ in range(settings.fetch_max_redirects + 1):
        target = parse_url(current, field=label)
        addresses = [target.ip] if target.ip is not None else _resolve(resolver, target.host, deadline, label)
        for address in addresses:
            check_address(address, settings.allow_private_networks, field=label, host=target.host)
        fetch = _Hop(target, addresses, deadline, settings, context, label, max_bytes, sink)
        location = fetch.run()
        if location is None:
            return FetchedMedia(data=fetch.body, content_type=fetch.content_type, final_url=target.url)
        current = urljoin(target.url, location)
        label = f"{field} (redirected to {_shorten(current)})"
    raise MediaLayerError(
        "fetch_failed",
        f"{field}: more than {settings.fetch_max_redirects} redirects, last to {_shorten(current)}",
    )


class _Deadline:
    def __init__(self, total_s: float) -> None:
        self.total_s = total_s
        self.end = time.monotonic() + total_s

    def remaining(self) -> float:
        return self.end - time.monotonic()


def _resolve(resolver: Resolver, host: str, deadline: _Deadline, label: str) -> list[IPAddress]:
    """Call ``resolver`` once, bounded by the deadline (getaddrinfo itself has no timeout)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append([ip_address(a) if isinstance(a, str) else a for a in resolver(host)])
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name="medialayer-resolve", daemon=True)
    worker.start()
    worker.join(max(deadline.remaining(), 0))
    if not outcome:
        raise MediaLayerError("fetch_failed", f"{label}: resolving {host} timed out")
    result = outcome[0]
    if isinstance(result, MediaLayerError):
        raise result
    if isinstance(result, (OSError, ValueError)):
        raise MediaLayerError("fetch_failed", f"{label}: could not resolve host {host}") from result
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, list)
    if not result:
        raise MediaLayerError("fetch_failed", f"{label}: host {host} has no addresses")
    return result


class _Hop:
    """One request/response on its own connection. ``run`` returns a redirect location or None."""

    def __init__(
        self,
        target: HttpTarget,
        addresses: list[IPAddress],
        deadline: _Deadline,
        settings: Settings,
        context: ssl.SSLContext,
        label: str,
        max_bytes: int,
        sink: Callable[[bytes], None] | None = None,
    ) -> None:
        self.target, self.addresses, self.deadline = target, addresses, deadline
        self.settings, self.context, self.label, self.max_bytes = settings, context, label, max_bytes
        self.sink = sink
        self.body = b""
        self.content_type: str | None = None
        self.sock: socket.socket | None = None
        self.response: http.client.HTTPResponse | None = None
        self.expired = threading.Event()
        self.phase = "connecting to"

    def run(self) -> str | None:
        # A watchdog shuts the socket down at the deadline: socket timeouts bound each read, but a
        # server dripping one byte at a time through the TLS handshake or headers would outlast them.
        watchdog = threading.Timer(max(self.deadline.remaining(), 0), self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._exchange()
        except MediaLayerError:
            raise
        except Exception as exc:
            raise self._failure(exc) from exc
        finally:
            watchdog.cancel()
            if self.response is not None:
                self.response.close()  # holds the socket's file; the socket closes with the last user
            if self.sock is not None:
                self.sock.close()

    def _expire(self) -> None:
        self.expired.set()
        sock = self.sock
        if sock is not None:
            # The plain socket call, so an SSLSocket is cut at the TCP level from this thread.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _remaining(self) -> float:
        remaining = self.deadline.remaining()
        if remaining <= 0 or self.expired.is_set():
            raise TimeoutError
        return remaining

    def _exchange(self) -> str | None:
        target = self.target
        sock = self._connect()
        if target.scheme == "https":
            self.phase = "negotiating TLS with"
            sock.settimeout(min(self.settings.fetch_connect_timeout_s, self._remaining()))
            # Certificate and SNI use the host name although the socket already points at the IP.
            sock = self.context.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
            self.sock = sock  # before the handshake, so the watchdog can cut a dripping one
            sock.do_handshake()
        self.phase = "waiting for a response from"
        sock.settimeout(self._remaining())
        conn = http.client.HTTPConnection(target.host, target.port)
        conn.sock = sock  # http.client sends on this socket and never connects by itself
        conn.putrequest("GET", target.request_target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", target.host_header)
        conn.putheader("User-Agent", USER_AGENT)
        conn.putheader("Accept", "*/*")
        conn.putheader("Accept-Encoding", "identity")  # bytes as stored; no decompression bombs
        conn.putheader("Connection", "close")
        conn.endheaders()
        response = self.response = conn.getresponse()
        self._remaining()  # headers cut short by the watchdog can still parse; they do not count
        if response.status in REDIRECT_STATUSES and response.getheader("Location"):
            return response.getheader("Location", "").strip()
        if not 200 <= response.status < 300:
            raise MediaLayerError("fetch_failed", f"{self.label}: {target.host} answered HTTP {_status(response)}")
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise MediaLayerError("fetch_failed", f"{self.label}: {target.host} sent a {encoding[:40]}-encoded body")
        if response.length is not None and response.length > self.max_bytes:
            raise _too_large(self.label, self.max_bytes)
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        self.content_type = content_type or None
        self.phase = "downloading from"
        self.body = self._read_body(response, sock)
        return None

    def _connect(self) -> socket.socket:
        """A TCP connection to the first of the checked addresses that answers."""
        error: OSError | None = None
        for address in self.addresses:
            timeout = min(self.settings.fetch_connect_timeout_s, self._remaining())
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock = sock
            sock.settimeout(timeout)
            try:
                sock.connect((str(address), self.target.port))
                return sock
            except OSError as exc:
                sock.close()
                self.sock, error = None, exc
        assert error is not None
        raise error

    def _read_body(self, response: http.client.HTTPResponse, sock: socket.socket) -> bytes:
        chunks: list[bytes] = []
        received = 0
        while True:
            # read1 makes at most one recv, so a slow-drip server cannot keep us past the deadline.
            sock.settimeout(self._remaining())
            chunk = response.read1(min(CHUNK_BYTES, self.max_bytes + 1 - received))
            if not chunk:
                break
            received += len(chunk)
            if received > self.max_bytes:
                raise _too_large(self.label, self.max_bytes)
            if self.sink is not None:
                self.sink(chunk)
            else:
                chunks.append(chunk)
        if self.expired.is_set():
            raise TimeoutError  # the watchdog's shutdown looks like an end of stream
        if response.length:  # Content-Length promised more than arrived
            raise http.client.IncompleteRead(b"".join(chunks), response.length)
        return b"".join(chunks)

    def _failure(self, exc: Exception) -> MediaLayerError:
        host = self.target.host
        if self.expired.is_set() or isinstance(exc, TimeoutError):
            if self.phase == "connecting to" and self.deadline.remaining() > 0:
                problem = f"connecting to {host} timed out after {self.settings.fetch_connect_timeout_s:g} s"
            else:
                problem = f"timed out {self.phase} {host} (the download may take {self.deadline.total_s:g} s)"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            problem = f"the TLS certificate of {host} could not be verified ({exc.verify_message})"
        elif isinstance(exc, ssl.SSLError):
            problem = f"the TLS handshake with {host} failed ({exc.reason or exc.__class__.__name__})"
        elif isinstance(exc, ConnectionRefusedError):
            problem = f"{host} refused the connection"
        elif isinstance(exc, http.client.IncompleteRead):
            problem = f"{host} closed the connection before the body was complete"
        elif isinstance(exc, http.client.RemoteDisconnected):
            problem = f"{host} closed the connection without answering"
        elif isinstance(exc, http.client.HTTPException):
            problem = f"{host} sent an invalid HTTP response ({exc.__class__.__name__})"
        elif isinstance(exc, OSError):
            problem = f"{self.phase} {host} failed ({exc.strerror or exc.__class__.__name__})"
        else:
            problem = f"{self.phase} {host} failed ({exc.__class__.__name__})"
        return MediaLayerError("fetch_failed", f"{self.label}: {problem}")


_context_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def _default_ssl_context() -> ssl.SSLContext:
    global _context
    with _context_lock:
        if _context is None:
            _context = ssl.create_default_context()  # verifies chain and host name, TLS >= 1.2
        return _context


def _too_large(label: str, max_bytes: int) -> MediaLayerError:
    size = f"{max_bytes // 1_000_000} MB" if max_bytes % 1_000_000 == 0 else f"{max_bytes} bytes"
    return MediaLayerError("file_too_large", f"{label}: the file is larger than the {size} limit")


def _status(response: http.client.HTTPResponse) -> str:
    # The server's own reason phrase is not echoed: it is arbitrary text from an untrusted host.
    try:
        return f"{response.status} {HTTPStatus(response.status).phrase}"
    except ValueError:
        return str(response.status)


def _shorten(url: str, limit: int = 200) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
