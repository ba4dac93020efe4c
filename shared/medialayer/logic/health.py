"""Readiness of the service's own dependencies."""

from __future__ import annotations

from medialayer.dal.table import Table


def check_storage() -> str | None:
    """None when the main table answers, else why not."""
    try:
        Table().get({"pk": "HEALTH", "sk": "HEALTH"})
    except Exception as exc:  # any failure means not ready; the reason goes back to the caller
        return f"table unreachable: {type(exc).__name__}"
    return None
