"""Reading a bulk CSV (``url,media_type,name``) or a ZIP's manifest (``file,media_type,name``) into rows.

The file as a whole must be UTF-8 CSV with a header and at most ``MAX_ROWS`` rows, or the job fails.
Each row is then checked on its own: a bad row becomes a row error and the others go on.
Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from medialayer.errors import MediaLayerError
from medialayer.logic.bulk_limits import MAX_CSV_BYTES, MAX_NAME_CHARS, MAX_ROWS, MAX_URL_CHARS
from medialayer.logic.media_input import MediaInput
from medialayer.models.common import MediaType
from medialayer.models.jobs import BulkRow, RowError

URL_COLUMN = "url"
FILE_COLUMN = "file"


@dataclass(frozen=True)
class RowRules:
    """What a row must satisfy besides its own syntax."""

    index_types: frozenset[MediaType]  # the submitting key's {type}:index scopes
    feature_enabled: Callable[[MediaType], bool]  # the plan's index feature flag
    entry_exists: Callable[[str], bool] | None = None  # ZIP: the file must be in the archive


@dataclass
class ParsedRows:
    rows: list[BulkRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.errors)


def decode_csv(data: bytes, what: str = "the CSV") -> str:
    if len(data) > MAX_CSV_BYTES:
        raise MediaLayerError("file_too_large", f"{what} is over {MAX_CSV_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MediaLayerError("invalid_request", f"{what} is not UTF-8 text") from None


def read_header(text: str, source_column: str, what: str = "the CSV") -> dict[str, int]:
    """Column positions from the first non-empty record, which must name the source and media_type."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        first = next((record for record in reader if any(cell.strip() for cell in record)), None)
    except csv.Error as exc:
        raise MediaLayerError("invalid_request", f"{what} is not valid CSV: {exc}") from None
    return _columns(first, source_column, what)


def _columns(record: list[str] | None, source_column: str, what: str) -> dict[str, int]:
    expected = f"{source_column},media_type,name"
    if record is None:
        raise MediaLayerError("invalid_request", f"{what} is empty; its first row must be the header {expected}")
    names = [cell.strip().lower() for cell in record]
    columns = {name: i for i, name in enumerate(names) if name}
    if len(columns) != len([n for n in names if n]):
        raise MediaLayerError("invalid_request", f"{what}'s header names a column twice")
    if source_column not in columns or "media_type" not in columns:
        raise MediaLayerError("invalid_request", f"{what} needs a header row: {expected} (name is optional)")
    return columns


def parse_rows(text: str, source_column: str, rules: RowRules, what: str = "the CSV") -> ParsedRows:
    reader = csv.reader(io.StringIO(text), strict=True)
    parsed = ParsedRows()
    columns: dict[str, int] | None = None
    seen: dict[tuple[MediaType, str], int] = {}
    try:
        for number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue  # blank lines are not rows
            if columns is None:
                columns = _columns(record, source_column, what)
                continue
            if parsed.total >= MAX_ROWS:
                raise MediaLayerError("invalid_request", f"{what} has more than {MAX_ROWS} rows")
            _one_row(number, record, columns, source_column, rules, seen, parsed)
    except csv.Error as exc:
        raise MediaLayerError("invalid_request", f"{what} is not valid CSV (row {reader.line_num}): {exc}") from None
    if columns is None:
        _columns(None, source_column, what)
    if parsed.total == 0:
        raise MediaLayerError("invalid_request", f"{what} has a header but no rows")
    return parsed


def _cell(record: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return record[index].strip() if index is not None and index < len(record) else ""


def _one_row(number: int, record: list[str], columns: dict[str, int], source_column: str, rules: RowRules,
             seen: dict[tuple[MediaType, str], int], parsed: ParsedRows) -> None:
    source = _cell(record, columns, source_column)
    try:
        media_type, name = _check(source, _cell(record, columns, "media_type"), _cell(record, columns, "name"),
                                  source_column, rules)
        first = seen.setdefault((media_type, source), number)
        if first != number:
            raise MediaLayerError("invalid_request", f"same {source_column} and media_type as row {first}")
    except MediaLayerError as exc:
        parsed.errors.append(RowError(row=number, url=source[:MAX_URL_CHARS] or None, code=exc.code,
                                      message=exc.message))
        return
    parsed.rows.append(BulkRow(row=number, source=source, media_type=media_type, name=name,
                               stored=rules.entry_exists is not None))


def _check(source: str, media_type_text: str, name: str, source_column: str,
           rules: RowRules) -> tuple[MediaType, str | None]:
    if not source:
        raise MediaLayerError("invalid_request", f"{source_column} is empty")
    if len(source) > MAX_URL_CHARS:
        raise MediaLayerError("invalid_request", f"{source_column} is longer than {MAX_URL_CHARS} characters")
    try:
        media_type = MediaType(media_type_text.lower())
    except ValueError:
        raise MediaLayerError("invalid_request", "media_type must be image, audio or video") from None
    if len(name) > MAX_NAME_CHARS:
        raise MediaLayerError("invalid_request", f"name is longer than {MAX_NAME_CHARS} characters")
    if rules.entry_exists is None:
        MediaInput(field=source_column, reference=source).validate()  # malformed or private: invalid_url
        default_name = posixpath.basename(urlsplit(source).path)
    else:
        if not rules.entry_exists(source):
            raise MediaLayerError("invalid_request", f"{source_column} {source[:200]!r} is not in the archive")
        default_name = posixpath.basename(source)
    if media_type not in rules.index_types:
        raise MediaLayerError("forbidden", f"this API key lacks the {media_type.value}:index scope")
    if not rules.feature_enabled(media_type):
        raise MediaLayerError("feature_disabled", f"the plan does not include {media_type.value} index")
    return media_type, name or default_name or None
