"""Fetching client-given URLs safely, and telling what the fetched bytes are.

- ``urls``: parse and validate a URL (``invalid_url``).
- ``addresses``: which IP addresses may be reached, and how a host spells an IP.
- ``fetcher``: download with address checks on every hop, caps and deadlines.
- ``sniff``: the medium and container of a file from its magic bytes (``unsupported_media``).
"""

from medialayer.fetch.addresses import check_address, parse_ip_host, refusal_reason
from medialayer.fetch.fetcher import FetchedMedia, Resolver, fetch_url, resolve_host
from medialayer.fetch.sniff import SNIFF_BYTES, DetectedFormat, detect_format, ensure_media_type
from medialayer.fetch.urls import HttpTarget, parse_url, validate_url

__all__ = [
    "SNIFF_BYTES",
    "DetectedFormat",
    "FetchedMedia",
    "HttpTarget",
    "Resolver",
    "check_address",
    "detect_format",
    "ensure_media_type",
    "fetch_url",
    "parse_ip_host",
    "parse_url",
    "refusal_reason",
    "resolve_host",
    "validate_url",
]
