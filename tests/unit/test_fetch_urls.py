"""URL shape validation: schemes, hosts, ports, credentials, normalisation."""

from __future__ import annotations

import pytest

from medialayer.errors import MediaLayerError
from medialayer.fetch.urls import parse_url


def invalid(url: object, field: str = "url") -> str:
    with pytest.raises(MediaLayerError) as caught:
        parse_url(url, field=field)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_url"
    assert caught.value.status == 400
    assert caught.value.message.startswith(f"{field}: ")
    return caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.jpg",
        "gopher://example.com:70/_GET",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "dict://example.com:11211/stat",
        "ws://example.com/",
        "//example.com/a.jpg",
        "example.com/a.jpg",
    ],
)
def test_only_http_and_https(url: str) -> None:
    assert "only http and https" in invalid(url, field="source_url")


@pytest.mark.parametrize("url", ["http://", "http:///a.jpg", "https:/a.jpg", "http://:80/", "http:example.com"])
def test_missing_host(url: str) -> None:
    assert "no host" in invalid(url, field="target_url")


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@example.com/",
        "http://user@example.com/",
        "http://:@example.com/",
        "http://example.com@127.0.0.1/",
        "https://a:b@c:d@example.com/",
        "http://127.0.0.1\\@example.com/",  # where parsers disagree on the host
    ],
)
def test_credentials_are_refused(url: str) -> None:
    assert "credentials" in invalid(url)


@pytest.mark.parametrize("port", ["0", "65536", "99999999", "abc", "-1", "80a", "\uff18\uff10"])
def test_bad_ports(port: str) -> None:
    assert "port" in invalid(f"http://example.com:{port}/")


@pytest.mark.parametrize(
    "url",
    [
        "http://exa\nmple.com/",
        "http://example.com/a\r\nX-Injected: 1",
        "http://example.com/\x00",
        "http://exam\tple.com/",  # urlsplit would silently drop it
    ],
)
def test_control_characters_are_refused(url: str) -> None:
    assert "control characters" in invalid(url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://exa mple.com/", "not a valid host name"),
        ("http://example..com/", "not a valid host name"),
        ("http://-example.com/", "not a valid host name"),
        ("http://%31%32%37.0.0.1/", "percent-encoded"),
        ("http://[fe80::1%25eth0]/", "percent-encoded"),
        ("http://[127.0.0.1]/", "brackets"),
        ("http://[::1/", "malformed"),
        ("http://::1/", "brackets"),
        ("http://example.com\\evil/", "backslash"),
        ("http://" + "a" * 64 + ".com/", "not a valid host name"),
        ("http://example.com/" + "a" * 9000, "longer than"),
        ("", "URL is required"),
        (None, "URL is required"),
    ],
)
def test_malformed(url: str, problem: str) -> None:
    assert problem in invalid(url)


def test_normalisation() -> None:
    target = parse_url("  HTTP://Example.COM:80/a b/\u00e9.jpg?q=\u00e9&x=1#frag  ")
    assert target.url == "http://example.com/a%20b/%C3%A9.jpg?q=%C3%A9&x=1"
    assert (target.scheme, target.host, target.port, target.ip) == ("http", "example.com", 80, None)
    assert target.request_target == "/a%20b/%C3%A9.jpg?q=%C3%A9&x=1"
    assert target.host_header == "example.com"


def test_defaults_and_host_header() -> None:
    assert parse_url("https://example.com").request_target == "/"
    assert parse_url("https://example.com").port == 443
    assert parse_url("https://example.com:/x").port == 443
    assert parse_url("https://example.com:8443/x").host_header == "example.com:8443"
    assert parse_url("http://example.com.:8080/").host == "example.com"
    v6 = parse_url("http://[2606:4700::1111]:8080/")
    assert (v6.host, v6.host_header) == ("2606:4700::1111", "[2606:4700::1111]:8080")


def test_ip_hosts_are_canonicalised() -> None:
    target = parse_url("http://0x7f.1:8080/x")
    assert (target.host, str(target.ip), target.url) == ("127.0.0.1", "127.0.0.1", "http://127.0.0.1:8080/x")


def test_internationalised_host_becomes_punycode() -> None:
    assert parse_url("https://b\u00fccher.example/").host == "xn--bcher-kva.example"
