"""The fetcher against real sockets: a local HTTP(S) server with well-behaved and hostile routes."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from medialayer.errors import MediaLayerError
from medialayer.fetch.fetcher import FetchedMedia, fetch_url
from medialayer.settings import Settings

CAP = 1000
SMALL = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def settings(allow: str = "127.0.0.0/8", total: float = 5.0, **fields: object) -> Settings:
    return Settings(
        MEDIALAYER_ALLOW_PRIVATE_NETWORKS=allow,
        MEDIALAYER_FETCH_TOTAL_TIMEOUT=total,
        MEDIALAYER_FETCH_CONNECT_TIMEOUT=2.0,
        **fields,
    )


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    port: int
    seen: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: MediaServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.record.seen.append(Seen(self.path, dict(self.headers.items())))
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route, _, arg = parts.path.strip("/").partition("/")
        getattr(self, "route_" + route.replace("-", "_"), self.route_missing)(arg, query)

    def stopping(self, seconds: float) -> bool:
        return self.server.stop.wait(seconds)

    def head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def route_missing(self, arg: str, query: dict[str, str]) -> None:
        self.head(404, {"Content-Length": "0"})

    def route_small(self, arg: str, query: dict[str, str]) -> None:
        self.head(200, {"Content-Type": "Image/PNG; charset=binary", "Content-Length": str(len(SMALL))})
        self.wfile.write(SMALL)

    def route_sized(self, arg: str, query: dict[str, str]) -> None:
        """``/sized/N?mode=length|close|chunked``: N bytes, framed as asked."""
        body = b"x" * int(arg)
        mode = query.get("mode", "length")
        if mode == "length":
            self.head(200, {"Content-Length": str(len(body))})
            self.wfile.write(body)
        elif mode == "close":
            self.close_connection = True
            self.head(200, {"Connection": "close"})
            for i in range(0, len(body), 100):
                self.wfile.write(body[i : i + 100])
        else:
            self.head(200, {"Transfer-Encoding": "chunked"})
            for i in range(0, len(body), 300):
                piece = body[i : i + 300]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")

    def route_huge_length(self, arg: str, query: dict[str, str]) -> None:
        # Announces 10 GB, sends a little, then stalls: only an early refusal ends this quickly.
        self.head(200, {"Content-Length": str(10**10)})
        self.wfile.write(b"x" * 100)
        self.wfile.flush()
        self.stopping(10)

    def route_endless(self, arg: str, query: dict[str, str]) -> None:
        """Chunked (or close-delimited) body that never ends."""
        chunked = query.get("mode") != "close"
        self.close_connection = True
        self.head(200, {"Transfer-Encoding": "chunked"} if chunked else {"Connection": "close"})
        piece = b"y" * 500
        with_framing = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
        deadline = time.monotonic() + 10
        while not self.server.stop.is_set() and time.monotonic() < deadline:
            self.wfile.write(with_framing)

    def route_redirect(self, arg: str, query: dict[str, str]) -> None:
        """``/redirect/N``: N relative redirects, then the small file."""
        hops = int(arg)
        if hops == 0:
            self.route_small(arg, query)
        else:
            self.head(302, {"Location": f"../redirect/{hops - 1}", "Content-Length": "0"})

    def route_to(self, arg: str, query: dict[str, str]) -> None:
        self.head(int(query.get("status", "302")), {"Location": query["u"], "Content-Length": "0"})

    def route_status(self, arg: str, query: dict[str, str]) -> None:
        self.head(int(arg), {"Content-Length": "9"})
        self.wfile.write(b"not here\n")

    def route_slow_body(self, arg: str, query: dict[str, str]) -> None:
        self.head(200, {"Content-Length": "1000"})
        for _ in range(100):  # 10 bytes every 50 ms: 5 s in all, each read well within any timeout
            self.wfile.write(b"z" * 10)
            self.wfile.flush()
            if self.stopping(0.05):
                return

    def route_slow_headers(self, arg: str, query: dict[str, str]) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):
            self.wfile.write(b"X")
            self.wfile.flush()
            if self.stopping(0.05):
                return

    def route_hang(self, arg: str, query: dict[str, str]) -> None:
        self.stopping(10)

    def route_truncated(self, arg: str, query: dict[str, str]) -> None:
        self.close_connection = True
        self.head(200, {"Content-Length": "100"})
        self.wfile.write(b"t" * 50)

    def route_gzip(self, arg: str, query: dict[str, str]) -> None:
        self.head(200, {"Content-Encoding": "gzip", "Content-Length": "4"})
        self.wfile.write(b"\x1f\x8b\x08\x00")


class MediaServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.stop = threading.Event()
        self.tls = tls
        self.record = Server(base=f"http://127.0.0.1:{self.server_address[1]}", port=self.server_address[1])

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock.settimeout(2)
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-body is what several tests do on purpose


@contextlib.contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[MediaServer]:
    server = MediaServer(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def media_server() -> Iterator[MediaServer]:
    with serve() as running:
        yield running


@pytest.fixture
def server(media_server: MediaServer) -> Server:
    media_server.record.seen.clear()
    return media_server.record


def fails(code: str, call: Callable[[], object]) -> MediaLayerError:
    with pytest.raises(MediaLayerError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert "Traceback" not in caught.value.message
    return caught.value


def fixed_resolver(*answers: list[str]) -> tuple[Callable[[str], list[str]], list[str]]:
    """A resolver giving ``answers`` in turn (the last one from then on) and recording each call."""
    calls: list[str] = []

    def resolve(host: str) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    return resolve, calls


class TestDownload:
    def test_small_file(self, server: Server) -> None:
        got = fetch_url(f"{server.base}/small", max_bytes=CAP, settings=settings())
        assert got == FetchedMedia(data=SMALL, content_type="image/png", final_url=f"{server.base}/small")
        headers = server.seen[0].headers
        assert headers["User-Agent"] == "MediaLayer/0.1"
        assert headers["Accept-Encoding"] == "identity"
        assert headers["Host"] == f"127.0.0.1:{server.port}"

    def test_odd_ip_spelling_is_fetched_from_the_address_it_means(self, server: Server) -> None:
        got = fetch_url(f"http://0x7f.1:{server.port}/small", max_bytes=CAP, settings=settings())
        assert got.data == SMALL
        assert got.final_url == f"{server.base}/small"

    def test_system_resolver(self, server: Server) -> None:
        # localhost may resolve to ::1 as well; every address must be allowed, and the fetcher falls
        # back to the next checked address when one refuses the connection.
        got = fetch_url(
            f"http://localhost:{server.port}/small", max_bytes=CAP, settings=settings("127.0.0.0/8,::1/128")
        )
        assert got.data == SMALL
        assert server.seen[-1].headers["Host"] == f"localhost:{server.port}"

    def test_next_checked_address_after_a_refused_connection(self, server: Server) -> None:
        resolve, _ = fixed_resolver(["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2
        got = fetch_url(f"http://media.test:{server.port}/small", max_bytes=CAP, settings=settings(), resolver=resolve)
        assert got.data == SMALL


class TestRefusedAddresses:
    def test_loopback_without_allow_list(self, server: Server) -> None:
        error = fails(
            "invalid_url",
            lambda: fetch_url(f"{server.base}/small", max_bytes=CAP, settings=settings(""), field="source_url"),
        )
        assert error.message.startswith("source_url: 127.0.0.1 may not be fetched (loopback address)")
        assert server.seen == []

    def test_localhost_name_without_allow_list(self, server: Server) -> None:
        error = fails(
            "invalid_url",
            lambda: fetch_url(f"http://localhost:{server.port}/", max_bytes=CAP, settings=settings("")),
        )
        assert "localhost resolves to" in error.message
        assert server.seen == []

    def test_any_refused_address_refuses_the_host(self, server: Server) -> None:
        resolve, _ = fixed_resolver(["127.0.0.1", "10.0.0.1"])
        error = fails(
            "invalid_url",
            lambda: fetch_url(
                f"http://mixed.test:{server.port}/small", max_bytes=CAP, settings=settings(), resolver=resolve
            ),
        )
        assert "mixed.test resolves to 10.0.0.1" in error.message
        assert server.seen == []

    @pytest.mark.parametrize(
        ("location", "reason"),
        [
            ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
            ("http://10.0.0.1/", "private"),
            ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
            ("http://0xa9fea9fe/", "cloud metadata"),
            ("http://internal.test/", "internal.test resolves to 10.1.2.3"),
            ("file:///etc/passwd", "only http and https"),
            ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
            ("http://user:pw@127.0.0.1/", "credentials"),
        ],
    )
    def test_redirect_to_a_refused_target(self, server: Server, location: str, reason: str) -> None:
        resolve, _ = fixed_resolver(["10.1.2.3"])
        url = f"{server.base}/to?u={location}"
        error = fails(
            "invalid_url",
            lambda: fetch_url(url, max_bytes=CAP, settings=settings(), field="target_url", resolver=resolve),
        )
        assert error.message.startswith("target_url (redirected to ")
        assert reason in error.message
        assert len(server.seen) == 1  # the first hop was allowed and fetched


class TestDnsRebinding:
    def test_one_resolution_and_the_connection_goes_to_the_checked_address(self, server: Server) -> None:
        # A rebinding name: allowed on the first answer, internal on every later one. Were the name
        # resolved again to connect, the request would go to 10.0.0.1 and fail.
        resolve, calls = fixed_resolver(["127.0.0.1"], ["10.0.0.1"])
        got = fetch_url(f"http://rebind.test:{server.port}/small", max_bytes=CAP, settings=settings(), resolver=resolve)
        assert got.data == SMALL
        assert calls == ["rebind.test"]
        assert server.seen[0].headers["Host"] == f"rebind.test:{server.port}"

    def test_every_redirect_hop_resolves_and_checks_again(self, server: Server) -> None:
        resolve, calls = fixed_resolver(["127.0.0.1"], ["10.0.0.1"])
        url = f"http://rebind.test:{server.port}/redirect/1"
        error = fails("invalid_url", lambda: fetch_url(url, max_bytes=CAP, settings=settings(), resolver=resolve))
        assert "rebind.test resolves to 10.0.0.1" in error.message
        assert calls == ["rebind.test", "rebind.test"]
        assert server.paths() == ["/redirect/1"]


class TestSizeCap:
    @pytest.mark.parametrize("mode", ["length", "close", "chunked"])
    def test_exactly_the_cap_is_fine(self, server: Server, mode: str) -> None:
        got = fetch_url(f"{server.base}/sized/{CAP}?mode={mode}", max_bytes=CAP, settings=settings())
        assert got.data == b"x" * CAP

    @pytest.mark.parametrize("mode", ["length", "close", "chunked"])
    def test_one_byte_over_the_cap(self, server: Server, mode: str) -> None:
        error = fails(
            "file_too_large",
            lambda: fetch_url(f"{server.base}/sized/{CAP + 1}?mode={mode}", max_bytes=CAP, settings=settings()),
        )
        assert error.status == 413

    def test_content_length_over_the_cap_is_refused_before_the_body(self, server: Server) -> None:
        started = time.monotonic()
        fails(
            "file_too_large",
            lambda: fetch_url(f"{server.base}/huge-length", max_bytes=CAP, settings=settings()),
        )
        assert time.monotonic() - started < 2

    @pytest.mark.parametrize("mode", ["chunked", "close"])
    def test_endless_body_stops_at_the_cap(self, server: Server, mode: str) -> None:
        # The server never stops sending: only stopping at the cap ends this (else: a timeout).
        error = fails(
            "file_too_large",
            lambda: fetch_url(f"{server.base}/endless?mode={mode}", max_bytes=15_000_000, settings=settings(total=5)),
        )
        assert error.message == "url: the file is larger than the 15 MB limit"


class TestRedirects:
    def test_five_redirects_are_followed(self, server: Server) -> None:
        got = fetch_url(f"{server.base}/redirect/5", max_bytes=CAP, settings=settings())
        assert got.data == SMALL
        assert got.final_url == f"{server.base}/redirect/0"
        assert server.paths() == [f"/redirect/{n}" for n in range(5, -1, -1)]

    def test_six_redirects_are_too_many(self, server: Server) -> None:
        error = fails(
            "fetch_failed", lambda: fetch_url(f"{server.base}/redirect/6", max_bytes=CAP, settings=settings())
        )
        assert "more than 5 redirects" in error.message
        assert len(server.seen) == 6

    def test_limit_comes_from_settings(self, server: Server) -> None:
        limited = settings(fetch_max_redirects=1)
        assert fetch_url(f"{server.base}/redirect/1", max_bytes=CAP, settings=limited).data == SMALL
        fails("fetch_failed", lambda: fetch_url(f"{server.base}/redirect/2", max_bytes=CAP, settings=limited))

    @pytest.mark.parametrize("status", [301, 303, 307, 308])
    def test_absolute_location_and_other_statuses(self, server: Server, status: int) -> None:
        url = f"{server.base}/to?status={status}&u=http://localhost:{server.port}/small"
        resolve, _ = fixed_resolver(["127.0.0.1"])
        got = fetch_url(url, max_bytes=CAP, settings=settings(), resolver=resolve)
        assert (got.data, got.final_url) == (SMALL, f"http://localhost:{server.port}/small")

    def test_scheme_relative_location(self, server: Server) -> None:
        got = fetch_url(f"{server.base}/to?u=//127.0.0.1:{server.port}/small", max_bytes=CAP, settings=settings())
        assert got.data == SMALL

    def test_redirect_without_location_is_a_failure(self, server: Server) -> None:
        error = fails(
            "fetch_failed", lambda: fetch_url(f"{server.base}/status/302", max_bytes=CAP, settings=settings())
        )
        assert "HTTP 302 Found" in error.message


class TestFailures:
    @pytest.mark.parametrize(
        ("status", "text"), [(404, "404 Not Found"), (500, "500 Internal Server Error"), (204, None)]
    )
    def test_non_2xx(self, server: Server, status: int, text: str | None) -> None:
        url = f"{server.base}/status/{status}"
        if text is None:  # 2xx without a body is a (empty) success; the sniffer refuses it later
            assert fetch_url(url, max_bytes=CAP, settings=settings()).data == b""
            return
        error = fails("fetch_failed", lambda: fetch_url(url, max_bytes=CAP, settings=settings(), field="url"))
        assert error.message == f"url: 127.0.0.1 answered HTTP {text}"
        assert error.status == 422

    @pytest.mark.parametrize(
        ("route", "phase"), [("slow-body", "downloading"), ("slow-headers", "waiting"), ("hang", "waiting")]
    )
    def test_total_deadline(self, server: Server, route: str, phase: str) -> None:
        started = time.monotonic()
        error = fails(
            "fetch_failed",
            lambda: fetch_url(f"{server.base}/{route}", max_bytes=CAP, settings=settings(total=0.5)),
        )
        assert time.monotonic() - started < 1.5
        assert f"timed out {phase}" in error.message

    def test_deadline_covers_the_resolver(self, server: Server) -> None:
        def slow(host: str) -> list[str]:
            time.sleep(2)
            return ["127.0.0.1"]

        started = time.monotonic()
        error = fails(
            "fetch_failed",
            lambda: fetch_url(
                f"http://slow.test:{server.port}/small",
                max_bytes=CAP,
                settings=settings(total=0.3),
                resolver=slow,
            ),
        )
        assert time.monotonic() - started < 1
        assert "resolving slow.test timed out" in error.message

    def test_dns_failure(self) -> None:
        def unknown(host: str) -> list[str]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        error = fails("fetch_failed", lambda: fetch_url("https://nowhere.test/a.jpg", max_bytes=CAP, resolver=unknown))
        assert error.message == "url: could not resolve host nowhere.test"

    def test_connection_refused(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        error = fails(
            "fetch_failed", lambda: fetch_url(f"http://127.0.0.1:{port}/", max_bytes=CAP, settings=settings())
        )
        assert "refused the connection" in error.message

    def test_truncated_body(self, server: Server) -> None:
        error = fails("fetch_failed", lambda: fetch_url(f"{server.base}/truncated", max_bytes=CAP, settings=settings()))
        assert "before the body was complete" in error.message

    def test_encoded_body_is_refused(self, server: Server) -> None:
        error = fails("fetch_failed", lambda: fetch_url(f"{server.base}/gzip", max_bytes=CAP, settings=settings()))
        assert "gzip-encoded" in error.message

    def test_tls_to_a_plain_http_server(self, server: Server) -> None:
        url = f"https://127.0.0.1:{server.port}/small"
        error = fails("fetch_failed", lambda: fetch_url(url, max_bytes=CAP, settings=settings()))
        assert "TLS handshake" in error.message


def self_signed(tmp: Path, name: str) -> tuple[Path, Path, bytes]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path, pem


class TestTls:
    @pytest.fixture
    def tls_server(self, tmp_path: Path) -> Iterator[tuple[MediaServer, ssl.SSLContext]]:
        cert_path, key_path, pem = self_signed(tmp_path, "media.test")
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert_path, key_path)
        client_context = ssl.create_default_context(cadata=pem.decode())
        with serve(server_context) as running:
            server_context.sni_callback = lambda sock, name, ctx: running.record.sni.append(name)
            yield running, client_context

    def test_connects_to_the_ip_but_verifies_the_host_name(
        self, tls_server: tuple[MediaServer, ssl.SSLContext]
    ) -> None:
        running, client_context = tls_server
        resolve, calls = fixed_resolver(["127.0.0.1"], ["10.0.0.1"])
        url = f"https://media.test:{running.record.port}/small"
        got = fetch_url(url, max_bytes=CAP, settings=settings(), resolver=resolve, ssl_context=client_context)
        assert got.data == SMALL
        assert calls == ["media.test"]
        assert running.record.sni == ["media.test"]
        assert running.record.seen[0].headers["Host"] == f"media.test:{running.record.port}"

    def test_certificate_for_another_name_fails(self, tls_server: tuple[MediaServer, ssl.SSLContext]) -> None:
        running, client_context = tls_server
        resolve, _ = fixed_resolver(["127.0.0.1"])
        url = f"https://other.test:{running.record.port}/small"
        error = fails(
            "fetch_failed",
            lambda: fetch_url(url, max_bytes=CAP, settings=settings(), resolver=resolve, ssl_context=client_context),
        )
        assert "TLS certificate of other.test could not be verified" in error.message
        assert running.record.seen == []

    def test_untrusted_certificate_fails(self, tls_server: tuple[MediaServer, ssl.SSLContext]) -> None:
        running, _ = tls_server
        resolve, _ = fixed_resolver(["127.0.0.1"])
        url = f"https://media.test:{running.record.port}/small"
        error = fails("fetch_failed", lambda: fetch_url(url, max_bytes=CAP, settings=settings(), resolver=resolve))
        assert "could not be verified" in error.message


def test_ipaddress_objects_from_a_resolver_work(server: Server) -> None:
    def resolve(host: str) -> list[ipaddress.IPv4Address]:
        return [ipaddress.IPv4Address("127.0.0.1")]

    assert (
        fetch_url(f"http://obj.test:{server.port}/small", max_bytes=CAP, settings=settings(), resolver=resolve).data
        == SMALL
    )
