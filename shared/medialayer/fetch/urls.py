"""Parse and validate a URL a client asks the service to fetch.

The fetcher connects to exactly what this module parsed, so the rules are strict where parsers are
known to disagree (userinfo, backslashes, control characters, numeric hosts) and lenient where
browsers are (spaces and non-ASCII characters in the path are percent-encoded).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from medialayer.errors import MediaLayerError
from medialayer.fetch.addresses import IPAddress, check_address, parse_ip_host
from medialayer.settings import Settings, get_settings

MAX_URL_LENGTH = 8192
DEFAULT_PORTS = {"http": 80, "https": 443}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# Bytes that may not appear raw in an HTTP request target; everything else passes through as given.
_ENCODE_IN_TARGET = re.compile(r"[^\x21-\x7e]")

_Invalid = Callable[[str], MediaLayerError]


@dataclass(frozen=True)
class HttpTarget:
    """A validated http(s) URL, split into what the fetcher needs."""

    url: str  # normalised: lower-case scheme and host, canonical IP spelling, no fragment
    scheme: str  # "http" or "https"
    host: str  # ASCII host for the Host header, SNI and certificate check; IPv6 without brackets
    port: int
    ip: IPAddress | None  # the address when the host is an IP literal (in whatever spelling)
    request_target: str  # path and query as sent on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse_url(url: str, *, field: str = "url") -> HttpTarget:
    """Parse ``url`` or raise ``invalid_url`` with a message that starts with ``field``.

    Only checks the URL's shape; ``validate_url`` also refuses IP literals of refused networks, and
    the fetcher checks the addresses a host name resolves to.
    """

    def invalid(problem: str) -> MediaLayerError:
        return MediaLayerError("invalid_url", f"{field}: {problem}")

    if not isinstance(url, str) or not url.strip():
        raise invalid("a URL is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise invalid(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url):
        raise invalid("the URL contains control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise invalid(f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        got = f"{scheme}:" if scheme else "no scheme"
        raise invalid(f"only http and https URLs can be fetched (got {got})")
    netloc = parts.netloc
    if "@" in netloc:
        raise invalid("credentials in the URL (user:password@) are not allowed")
    if "\\" in netloc:
        raise invalid("backslashes are not allowed in the host")
    raw_host, port = _split_host_port(netloc, scheme, invalid)
    host, ip = _normalise_host(raw_host, invalid)
    shown_host = f"[{host}]" if ":" in host else host
    shown_port = "" if port == DEFAULT_PORTS[scheme] else f":{port}"
    path = _encode_target(parts.path or "/")
    query = _encode_target(parts.query)
    request_target = f"{path}?{query}" if query else path
    return HttpTarget(
        url=f"{scheme}://{shown_host}{shown_port}{request_target}",
        scheme=scheme,
        host=host,
        port=port,
        ip=ip,
        request_target=request_target,
    )


def validate_url(url: str, *, settings: Settings | None = None, field: str = "url") -> HttpTarget:
    """``parse_url`` plus the address check for IP-literal hosts, without any network access.

    Lets an endpoint refuse ``http://127.0.0.1/`` with a 400 before queueing work; host names are
    resolved and checked when fetched (and again after every redirect).
    """
    target = parse_url(url, field=field)
    if target.ip is not None:
        check_address(target.ip, (settings or get_settings()).allow_private_networks, field=field)
    return target


def _split_host_port(netloc: str, scheme: str, invalid: _Invalid) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise invalid("unterminated [ in the host")
        host, rest = netloc[1:end], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise invalid("unexpected characters after the IPv6 address")
        port_text = rest[1:] if rest else ""
        if not host or ":" not in host:
            raise invalid("brackets may only enclose an IPv6 address")
    else:
        host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise invalid("IPv6 addresses must be enclosed in brackets")
    if not host:
        raise invalid("the URL has no host")
    if not port_text:
        return host, DEFAULT_PORTS[scheme]  # "host:" with an empty port means the default (RFC 3986)
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) <= 65535:
        raise invalid(f"invalid port {port_text[:20]!r}")
    return host, int(port_text)


def _normalise_host(raw: str, invalid: _Invalid) -> tuple[str, IPAddress | None]:
    if "%" in raw:
        raise invalid("percent-encoded characters and zone ids are not allowed in the host")
    host = raw.lower()
    if not host.isascii():
        # IDNA (with nameprep) is how a browser turns a Unicode host into what it resolves; it also
        # folds tricks such as full-width digits into the ASCII address they stand for.
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise invalid("the host is not a valid internationalised domain name") from None
    try:
        ip = parse_ip_host(host)
    except ValueError:
        raise invalid(f"{raw[:100]!r} is not a valid IP address") from None
    if ip is not None:
        return str(ip), ip
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise invalid(f"{raw[:100]!r} is not a valid host name")
    return name, None


def _encode_target(text: str) -> str:
    """Percent-encode spaces and non-ASCII characters (as UTF-8), as a browser does."""
    return _ENCODE_IN_TARGET.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), text)
