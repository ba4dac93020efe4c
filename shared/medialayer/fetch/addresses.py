"""Which IP addresses the fetcher may connect to, and how a URL host spells an IP.

A URL given to the service must not reach anything inside the deployment: loopback, private
networks, link-local (where cloud metadata lives), multicast, reserved space, and the IPv6 forms
that smuggle such an IPv4 address inside them. ``MEDIALAYER_ALLOW_PRIVATE_NETWORKS`` exempts
networks the operator names (so a test can serve media from 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from medialayer.errors import MediaLayerError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Instance metadata and other provider-internal services: fetching them from inside the cloud hands
# out credentials. Most sit in ranges refused anyway; listing them names the danger in the message
# and keeps them refused under a broad allow-list (see ``check_address``).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, OpenStack, DigitalOcean instance metadata
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.169.253",  # AWS VPC DNS resolver
        "169.254.169.123",  # AWS time sync
        "168.63.129.16",  # Azure wire server (public space, but answers only inside Azure)
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud classic metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "fd00:ec2::253",  # AWS VPC DNS resolver over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
    )
)

# Special-purpose ranges (IANA registries), most specific first: the first match names the reason.
_REFUSED_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "reserved 'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved IETF protocol"),
        ("192.0.2.0/24", "reserved documentation"),
        ("192.88.99.0/24", "reserved 6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved benchmarking"),
        ("198.51.100.0/24", "reserved documentation"),
        ("203.0.113.0/24", "reserved documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_REFUSED_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private (local-use NAT64)"),
        ("100::/64", "reserved discard-only"),
        ("2001:db8::/32", "reserved documentation"),
        ("3fff::/20", "reserved documentation"),
        ("5f00::/16", "reserved segment-routing"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "deprecated site-local"),
        ("ff00::/8", "multicast"),
    )
)
_METADATA_REASON = "cloud metadata address"
_IPV4_COMPATIBLE = IPv6Network("::/96")
_IPV4_TRANSLATED = IPv6Network("::ffff:0:0:0/96")
_NAT64 = IPv6Network("64:ff9b::/96")


def refusal_reason(ip: IPAddress) -> str | None:
    """Why the fetcher must not connect to ``ip`` (e.g. ``"loopback address"``), or None if it may."""
    if isinstance(ip, IPv6Address) and ip.scope_id is not None:
        ip = IPv6Address(int(ip))  # the zone only picks an interface; the address decides
    if ip in METADATA_ADDRESSES:
        return _METADATA_REASON
    table = _REFUSED_V4 if isinstance(ip, IPv4Address) else _REFUSED_V6
    for net, kind in table:
        if ip in net:
            return f"{kind} address"
    if isinstance(ip, IPv6Address):
        for label, embedded in _embedded_ipv4(ip):
            inner = refusal_reason(embedded)
            if inner is not None:
                return f"{label} form of {embedded}: {inner}"
    # Anything else Python does not consider globally reachable (ranges added to IANA's registries
    # after the tables above, the rest of 2001::/23, ...).
    if not ip.is_global:
        return "address outside the global unicast space"
    return None


def check_address(
    ip: IPAddress | str,
    allow: Iterable[IPNetwork] = (),
    *,
    field: str = "url",
    host: str | None = None,
) -> None:
    """Raise ``invalid_url`` unless the fetcher may connect to ``ip``.

    ``allow`` (``Settings.allow_private_networks``) exempts addresses inside those networks; an
    IPv4-mapped IPv6 address counts as its IPv4 address, since a dual-stack socket reaches the same
    host. Cloud metadata addresses are exempt only when an allowed network is exactly that one
    address: a broad entry such as ``169.254.0.0/16`` or ``0.0.0.0/0`` must not hand out credentials.
    ``host`` (the name that resolved to ``ip``) only improves the message.
    """
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    reason = refusal_reason(address)
    if reason is None or _is_allowed(address, list(allow), metadata=reason == _METADATA_REASON):
        return
    where = f"{host} resolves to {address}, which" if host and host != str(address) else f"{address}"
    raise MediaLayerError("invalid_url", f"{field}: {where} may not be fetched ({reason})")


def parse_ip_host(host: str) -> IPAddress | None:
    """The IP address a URL host denotes, or None for a DNS name.

    IPv4 follows the WHATWG URL standard, which agrees with inet_aton(3): one to four dot-separated
    parts in decimal, octal (leading 0) or hex (0x), the last part filling the remaining bytes, so
    ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` all mean 127.0.0.1. A host whose last
    label is numeric but that is no valid IPv4 address raises ``ValueError`` rather than falling back
    to DNS, as browsers do. IPv6 is given without brackets; zone ids (``%eth0``) are refused.
    """
    if ":" in host:
        if "%" in host:
            raise ValueError("IPv6 zone ids are not allowed")
        return IPv6Address(host)
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # one trailing dot is the DNS root, not a part
    if not _ends_in_number(parts[-1]):
        return None
    if len(parts) > 4:
        raise ValueError("an IPv4 address has at most four parts")
    numbers = [_ipv4_number(part) for part in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError("IPv4 address part out of range")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return IPv4Address(value)


def _is_allowed(ip: IPAddress, allow: list[IPNetwork], *, metadata: bool) -> bool:
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    for net in allow:
        for candidate in candidates:
            if candidate in net and (not metadata or net.num_addresses == 1):
                return True
    return False


def _embedded_ipv4(ip: IPv6Address) -> list[tuple[str, IPv4Address]]:
    """IPv4 addresses an IPv6 address carries, which a translator or tunnel would deliver to."""
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    found: list[tuple[str, IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    elif ip in _IPV4_COMPATIBLE:
        found.append(("IPv4-compatible", low32))
    elif ip in _IPV4_TRANSLATED:
        found.append(("IPv4-translated", low32))
    elif ip in _NAT64:
        found.append(("NAT64", low32))
    elif ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    elif ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", client), ("Teredo server", server)]
    return found


def _ends_in_number(label: str) -> bool:
    if label.isdigit() and label.isascii():
        return True
    try:
        _ipv4_number(label)
    except ValueError:
        return False
    return True


def _ipv4_number(part: str) -> int:
    if not part:
        raise ValueError("empty IPv4 part")
    digits, base = part, 10
    if part[:2].lower() == "0x":
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    if not digits:
        return 0  # "0x" alone is zero, like inet_aton
    allowed = "0123456789abcdefABCDEF"[: 10 if base == 10 else 8 if base == 8 else 22]
    if not all(c in allowed for c in digits):
        raise ValueError(f"{part!r} is not an IPv4 number")
    return int(digits, base)
