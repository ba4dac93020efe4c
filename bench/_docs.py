"""Writing one benchmark's section of docs/benchmarks.md, leaving the other sections alone."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(title: str, body: str, path: Path = DOCS) -> None:
    """Replace (or append) the ``## title`` section with ``body``."""
    section = f"## {title}\n\n{body.strip()}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    text = pattern.sub(lambda _: section + "\n", text) if found else text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def kept_rows(title: str, prefix: str, path: Path = DOCS) -> list[str]:
    """The current ``## title`` section's table rows starting with ``prefix``: what a run that skipped
    one medium keeps of that medium's last measurement."""
    text = path.read_text() if path.exists() else ""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return [line for line in (found.group(1) if found else "").splitlines() if line.startswith(prefix)]
