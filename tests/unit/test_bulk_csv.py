"""Reading bulk CSVs: the file as a whole (header, encoding, row limit) and each row on its own."""

from __future__ import annotations

import pytest

from medialayer.errors import MediaLayerError
from medialayer.logic import bulk_rows
from medialayer.logic.bulk_report import report_csv, safe_cell
from medialayer.logic.bulk_rows import FILE_COLUMN, URL_COLUMN, RowRules, decode_csv, parse_rows, read_header
from medialayer.models.common import MediaType
from medialayer.models.jobs import RowError

ALL = RowRules(index_types=frozenset(MediaType), feature_enabled=lambda _: True)


def _codes(text: str, rules: RowRules = ALL) -> dict[int, str]:
    return {e.row: e.code for e in parse_rows(text, URL_COLUMN, rules).errors}


def test_rows_are_validated_one_by_one_and_numbered_like_a_spreadsheet() -> None:
    text = ("url,media_type,name\n"
            "https://example.com/a.jpg,image,A\n"       # row 2: fine
            "https://example.com/b.mp3,AUDIO,\n"        # row 3: fine, type case-insensitive, default name
            ",image,missing url\n"                       # row 4
            "https://example.com/c.jpg,picture,\n"      # row 5: unknown type
            "http://10.0.0.1/d.jpg,image,\n"             # row 6: private address
            "ftp://example.com/e.jpg,image,\n"           # row 7: not http(s)
            "https://example.com/a.jpg,image,again\n"   # row 8: duplicate of row 2
            "https://example.com/a.jpg,audio,\n"        # row 9: same url, other type: fine
            "\n"                                         # blank: not a row
            "upload://upl_123,video,\n")                 # row 11: uploads are accepted
    parsed = parse_rows(text, URL_COLUMN, ALL)
    assert [r.row for r in parsed.rows] == [2, 3, 9, 11]
    assert parsed.rows[1].name == "b.mp3" and parsed.rows[1].media_type is MediaType.audio
    assert {e.row: e.code for e in parsed.errors} == {4: "invalid_request", 5: "invalid_request",
                                                      6: "invalid_url", 7: "invalid_url", 8: "invalid_request"}
    assert "row 2" in next(e.message for e in parsed.errors if e.row == 8)
    assert parsed.total == 9


def test_header_columns_may_come_in_any_order_and_name_is_optional() -> None:
    parsed = parse_rows("Media_Type , URL\nimage,https://example.com/x.jpg\n", URL_COLUMN, ALL)
    assert parsed.rows[0].source == "https://example.com/x.jpg" and parsed.rows[0].name == "x.jpg"


@pytest.mark.parametrize("text", [
    "https://example.com/a.jpg,image,A\n",          # no header
    "url,name\nhttps://example.com/a.jpg,A\n",      # no media_type column
    "url,url,media_type\n",                          # a column twice
    "",                                              # empty
    "url,media_type,name\n",                         # header only
])
def test_a_file_without_a_proper_header_or_rows_fails_as_a_whole(text: str) -> None:
    with pytest.raises(MediaLayerError) as info:
        parse_rows(text, URL_COLUMN, ALL)
    assert info.value.code == "invalid_request"


def test_scopes_and_feature_flags_apply_per_row() -> None:
    rules = RowRules(index_types=frozenset({MediaType.image, MediaType.audio}),
                     feature_enabled=lambda t: t is not MediaType.audio)
    text = ("url,media_type\nhttps://e.com/1.jpg,image\nhttps://e.com/2.mp3,audio\n"
            "https://e.com/3.mp4,video\n")
    assert _codes(text, rules) == {3: "feature_disabled", 4: "forbidden"}


def test_zip_manifest_rows_must_name_a_file_in_the_archive() -> None:
    rules = RowRules(index_types=frozenset(MediaType), feature_enabled=lambda _: True,
                     entry_exists=lambda name: name == "img/a.jpg")
    parsed = parse_rows("file,media_type\nimg/a.jpg,image\nimg/b.jpg,image\n", FILE_COLUMN, rules)
    assert [(r.row, r.name, r.stored) for r in parsed.rows] == [(2, "a.jpg", True)]
    assert parsed.errors[0].code == "invalid_request" and "not in the archive" in parsed.errors[0].message


def test_row_and_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_rows, "MAX_ROWS", 3)
    rows = "".join(f"https://example.com/{i}.jpg,image\n" for i in range(4))
    with pytest.raises(MediaLayerError, match="more than 3 rows"):
        parse_rows("url,media_type\n" + rows, URL_COLUMN, ALL)
    assert parse_rows("url,media_type\n" + rows[: rows.index("3.jpg") - 20], URL_COLUMN, ALL).total == 3
    monkeypatch.setattr(bulk_rows, "MAX_CSV_BYTES", 10)
    with pytest.raises(MediaLayerError) as info:
        decode_csv(b"url,media_type\n")
    assert info.value.code == "file_too_large"


def test_encoding_bom_and_bad_bytes() -> None:
    assert read_header(decode_csv("\ufeffurl,media_type\n".encode()), URL_COLUMN) == {"url": 0, "media_type": 1}
    with pytest.raises(MediaLayerError, match="UTF-8"):
        decode_csv(b"url,media_type\n\xff\xfe,image\n")
    with pytest.raises(MediaLayerError, match="not valid CSV"):
        parse_rows('url,media_type\n"unterminated,image\n', URL_COLUMN, ALL)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_report_cells_that_a_spreadsheet_would_run_are_made_text(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell
    assert safe_cell("https://example.com/=x") == "https://example.com/=x"


def test_report_has_a_header_and_one_quoted_line_per_error() -> None:
    report = report_csv([RowError(row=2, url="=cmd|' /C calc'!A0", code="invalid_url", message="bad, \"really\"")])
    lines = report.decode().split("\r\n")
    assert lines[0] == '"row","url","code","message","asset_id"'
    assert lines[1] == '"2","\'=cmd|\' /C calc\'!A0","invalid_url","bad, ""really""",""'
