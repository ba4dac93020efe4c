"""Credential secrets: generated once, shown once, stored only as a hash.

The secrets are 256-bit random strings, so a plain SHA-256 is a safe one-way store (no dictionary
to attack) and lets a request be authenticated with one DynamoDB GetItem keyed by the hash.
"""

from __future__ import annotations

import hashlib
import secrets as _random

API_KEY_PREFIX = "ml_"
USER_TOKEN_PREFIX = "mlu_"


def new_secret(prefix: str) -> str:
    return prefix + _random.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_id(prefix: str) -> str:
    """A short, URL-safe, unguessable identifier such as ``prj_3kq...``."""
    return f"{prefix}_{_random.token_hex(10)}"
