"""The error report of a finished bulk job: one CSV line per row that did not become a ready asset.

Cells come from client input (URLs, names) and from remote hosts' failures, and the report is meant
to be opened in a spreadsheet; a cell starting with ``= + - @``, a tab or a carriage return would be
run there as a formula (CSV injection), so such cells get a leading apostrophe, which spreadsheets
show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from medialayer.models.jobs import RowError

HEADER = ("row", "url", "code", "message", "asset_id")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def report_csv(errors: Iterable[RowError]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for error in errors:
        writer.writerow([error.row, *(safe_cell(v) for v in (error.url, error.code, error.message, error.asset_id))])
    return buffer.getvalue().encode("utf-8")
