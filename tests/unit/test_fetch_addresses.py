"""Which addresses the fetcher refuses, in every spelling a URL host can give them."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medialayer.errors import MediaLayerError
from medialayer.fetch.addresses import check_address, parse_ip_host, refusal_reason
from medialayer.fetch.urls import validate_url
from medialayer.settings import Settings


def settings(allow: str = "") -> Settings:
    return Settings(MEDIALAYER_ALLOW_PRIVATE_NETWORKS=allow)


# (URL, a fragment the refusal message must contain)
REFUSED = [
    # loopback, in the spellings inet_aton and browsers accept
    ("http://127.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0X7F.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://127.255.255.254:8080/x", "loopback"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),  # full-width digits
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
    # IPv6 forms that carry a refused IPv4 address
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1: loopback"),
    ("http://[::ffff:7f00:1]/", "IPv4-mapped form of 127.0.0.1: loopback"),
    ("http://[0:0:0:0:0:ffff:7f00:0001]/", "IPv4-mapped"),
    ("http://[::ffff:10.0.0.1]/", "IPv4-mapped form of 10.0.0.1: private"),
    ("http://[::127.0.0.1]/", "IPv4-compatible form of 127.0.0.1"),
    ("http://[::ffff:0:7f00:1]/", "IPv4-translated form of 127.0.0.1"),
    ("http://[64:ff9b::7f00:1]/", "NAT64 form of 127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 form of 169.254.169.254: cloud metadata"),
    ("http://[2002:7f00:1::]/", "6to4 form of 127.0.0.1"),
    ("http://[2002:a00:1::1]/", "6to4 form of 10.0.0.1"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo form of 127.0.0.1"),
    # cloud metadata
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://2852039166/", "cloud metadata"),
    ("http://0xa9fea9fe/", "cloud metadata"),
    ("http://0251.0376.0251.0376/", "cloud metadata"),
    ("http://169.254.43518/", "cloud metadata"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://169.254.170.2/v2/credentials", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://168.63.129.16/", "cloud metadata"),
    # the other special ranges
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://0.1.2.3/", "this network"),
    ("http://10.0.0.1/", "private"),
    ("http://012.1/", "private"),  # octal 012 = 10
    ("http://167772161/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://172.31.255.255/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://0xc0.0xa8.1.1/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://100.64.0.1/", "shared"),
    ("http://100.127.255.254/", "shared"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[fec0::1]/", "site-local"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused_addresses(url: str, reason: str) -> None:
    with pytest.raises(MediaLayerError) as caught:
        validate_url(url, settings=settings(), field="source_url")
    assert caught.value.code == "invalid_url"
    assert caught.value.status == 400
    assert caught.value.message.startswith("source_url: ")
    assert reason in caught.value.message


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0X0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("1.2.3.4", "1.2.3.4"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("0xg.com", None),
        ("1.2.3.example", None),
    ],
)
def test_parse_ip_host(host: str, expected: str | None) -> None:
    parsed = parse_ip_host(host)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://256.0.0.1/",
        "http://1.2.3.4.5/",
        "http://1.16777216/",  # the last part may only fill the remaining three bytes
        "http://08.0.0.1/",
        "http://0x100.1/",
        "http://foo.123/",  # a numeric last label makes the host an IPv4 address, which fails
        "http://foo.0x10/",
        "http://1..2/",
    ],
)
def test_numeric_hosts_that_are_no_address_are_invalid(url: str) -> None:
    with pytest.raises(MediaLayerError) as caught:
        validate_url(url, settings=settings())
    assert caught.value.code == "invalid_url"
    assert "not a valid IP address" in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/",
        "http://134744072/",  # 8.8.8.8 in decimal
        "http://0x08.0x08.0x08.0x08/",
        "https://1.1.1.1/a.jpg",
        "http://93.184.215.14:8080/",
        "http://[2606:4700:4700::1111]/",
        "http://[64:ff9b::808:808]/",  # NAT64 of a public address
        "http://[2002:808:808::1]/",  # 6to4 of a public address
        "http://100.63.255.255/",  # just below the shared range
        "http://172.32.0.1/",  # just above 172.16/12
        "https://example.com/image.png",  # names are checked when resolved, not here
    ],
)
def test_public_addresses_are_allowed(url: str) -> None:
    target = validate_url(url, settings=settings())
    assert target.url.split(":")[0] == url.split(":")[0]


def test_refusal_reason_names_the_class() -> None:
    assert refusal_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal_reason(ipaddress.ip_address("127.0.0.1")) == "loopback address"
    assert refusal_reason(ipaddress.ip_address("fe80::1%eth0")) == "link-local address"
    assert refusal_reason(ipaddress.ip_address("fd00:ec2::254%2")) == "cloud metadata address"


def test_check_address_names_the_host() -> None:
    with pytest.raises(MediaLayerError) as caught:
        check_address("127.0.0.1", field="target_url", host="evil.example")
    assert caught.value.message == (
        "target_url: evil.example resolves to 127.0.0.1, which may not be fetched (loopback address)"
    )


class TestAllowList:
    @pytest.mark.parametrize(
        "url",
        ["http://127.0.0.1:8000/", "http://0x7f.1/", "http://2130706433/", "http://[::ffff:127.0.0.1]/"],
    )
    def test_listed_network_is_exempt_in_every_spelling(self, url: str) -> None:
        validate_url(url, settings=settings("127.0.0.0/8"))

    @pytest.mark.parametrize(
        "url", ["http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/", "http://192.168.0.1/"]
    )
    def test_only_the_listed_network_is_exempt(self, url: str) -> None:
        with pytest.raises(MediaLayerError) as caught:
            validate_url(url, settings=settings("127.0.0.0/8"))
        assert caught.value.code == "invalid_url"

    def test_cidr_boundaries(self) -> None:
        allow = settings("10.1.0.0/16, fd00:1::/64")
        validate_url("http://10.1.255.255/", settings=allow)
        validate_url("http://[fd00:1::5]/", settings=allow)
        for url in ("http://10.2.0.0/", "http://10.0.255.255/", "http://[fd00:2::5]/"):
            with pytest.raises(MediaLayerError):
                validate_url(url, settings=allow)

    def test_metadata_needs_an_exact_entry(self) -> None:
        for broad in ("169.254.0.0/16", "0.0.0.0/0"):
            with pytest.raises(MediaLayerError) as caught:
                validate_url("http://169.254.169.254/", settings=settings(broad))
            assert "cloud metadata" in caught.value.message
        validate_url("http://169.254.169.254/", settings=settings("169.254.169.254/32"))
        # ...while the broad entry still exempts the rest of its network
        validate_url("http://169.254.1.1/", settings=settings("169.254.0.0/16"))

    def test_check_address_takes_the_settings_list(self) -> None:
        networks = settings("127.0.0.0/8").allow_private_networks
        check_address(ipaddress.ip_address("127.0.0.1"), networks)
        with pytest.raises(MediaLayerError):
            check_address("10.0.0.1", networks)


def spell(value: int, parts: int, styles: list[str]) -> str:
    """``value`` as an IPv4 host of ``parts`` parts, each in decimal, octal or hex."""
    numbers = [(value >> (8 * (3 - i))) & 0xFF for i in range(parts - 1)]
    numbers.append(value & ((1 << (8 * (5 - parts))) - 1))
    render = {"dec": str, "oct": lambda n: f"0{n:o}", "hex": lambda n: f"0x{n:x}"}
    return ".".join(render[style](n) for n, style in zip(numbers, styles, strict=False))


@given(
    value=st.integers(0, 2**32 - 1),
    parts=st.integers(1, 4),
    styles=st.lists(st.sampled_from(["dec", "oct", "hex"]), min_size=4, max_size=4),
)
def test_ipv4_spellings_agree_with_inet_aton(value: int, parts: int, styles: list[str]) -> None:
    host = spell(value, parts, styles)
    assert parse_ip_host(host) == ipaddress.IPv4Address(socket.inet_aton(host)) == ipaddress.IPv4Address(value)
    expected = refusal_reason(ipaddress.IPv4Address(value))
    if expected is None:
        validate_url(f"http://{host}/", settings=settings())
    else:
        with pytest.raises(MediaLayerError):
            validate_url(f"http://{host}/", settings=settings())
