"""A bulk job's valid rows, in chunk files the fan-out works through, and the assets they become."""

from __future__ import annotations

import hashlib
import json

from medialayer.dal.jobs import JobFiles
from medialayer.models.jobs import BulkRow


def asset_id_for(job_id: str, row: int) -> str:
    """The asset of a job's row: the same id however often the row is fanned out."""
    return "ast_" + hashlib.sha256(f"{job_id}#{row}".encode()).hexdigest()[:20]


def chunk_name(index: int) -> str:
    return f"rows/{index:05d}.json"


def write_chunk(files: JobFiles, index: int, rows: list[BulkRow]) -> None:
    files.put(chunk_name(index), json.dumps([r.model_dump(mode="json") for r in rows]).encode(), "application/json")


def read_chunk(files: JobFiles, index: int) -> list[BulkRow] | None:
    """The chunk's rows; None once the job's files were cleaned up."""
    data = files.find(chunk_name(index))
    return None if data is None else [BulkRow.model_validate(r) for r in json.loads(data)]
