"""Bulk ingest throughput on this machine: a CSV job and a ZIP job through the whole local runtime.

The local runtime is the one the tests use: the API, Step Functions executing the bulk state
machine on the embedded endpoint (its Lambda tasks run in-process), the real index queue and
worker (4 concurrent batches), all in one Python process on an in-memory moto endpoint. Rows are
images served from 127.0.0.1: the corpus photos (cycled, each row its own URL) or, without a
corpus, synthetic 640x480 JPEGs. Reported: wall time from the POST to the finished job, rows per
minute, and media MB/s (bytes of the rows' files); for the ZIP job also the expand step alone
(download + ranged reads + extraction to S3). Usage:

    python bench/bulk_ingest.py [--corpus CORPUS] [--rows 1000] [--write-docs]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ["MEDIALAYER_ALLOW_PRIVATE_NETWORKS"] = "127.0.0.0/8"
os.environ["MEDIALAYER_PLANS"] = str(ROOT / "tests" / "plans.json")  # no asset caps
os.environ.pop("AWS_ENDPOINT_URL", None)

import httpx  # noqa: E402
from _docs import write_section  # noqa: E402

from medialayer.dal.jobs import JobRepository  # noqa: E402
from medialayer.local.runtime import LocalRuntime  # noqa: E402
from medialayer.logic.tenancy import create_api_key, create_organisation, create_project  # noqa: E402
from medialayer.models.tenancy import ALL_SCOPES  # noqa: E402
from tests.conftest import MediaServer, encode, synthetic_photo  # noqa: E402

FINISHED = ("succeeded", "partial", "failed")


def _media(corpus: Path | None, count: int) -> list[tuple[str, bytes]]:
    if corpus is not None:
        photos = sorted((corpus / "images" / "photos").iterdir())
        files = [(p.name, p.read_bytes()) for p in photos]
    else:
        files = [(f"synthetic-{i}.jpg", encode(synthetic_photo(5000 + i))) for i in range(min(count, 200))]
    return [(f"{i:06d}-{files[i % len(files)][0]}", files[i % len(files)][1]) for i in range(count)]


def _project_client(base_url: str, name: str) -> tuple[httpx.Client, str]:
    """A fresh project per job: each job's search index grows (and compacts) on its own."""
    org, _, _ = create_organisation(name, f"bench@{name.lower()}.example")
    project = create_project(org.org_id, name)
    _, secret = create_api_key(project, "bench", list(ALL_SCOPES))
    return httpx.Client(base_url=base_url, headers={"x-api-key": secret.secret}, timeout=120), project.project_id


def _wait(api: httpx.Client, job_id: str) -> dict:
    while True:
        job = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in FINISHED:
            return job
        time.sleep(0.25)


def _row(label: str, job: dict, seconds: float, nbytes: int) -> str:
    return (f"| {label} | {job['total']:,} | {job['ready']:,} | {seconds:.1f} s | "
            f"{job['total'] / seconds * 60:,.0f} | {nbytes / seconds / 1e6:.2f} |")


def bench_csv(api: httpx.Client, server: MediaServer, media: list[tuple[str, bytes]]) -> str:
    urls = [server.add(f"/csv/{name}", body, "image/jpeg") for name, body in media]
    body = "url,media_type,name\n" + "".join(f"{u},image,{n}\n" for u, (n, _) in zip(urls, media, strict=True))
    started = time.monotonic()
    job_id = api.post("/v1/bulk/csv", files={"file": ("bench.csv", body.encode(), "text/csv")}).json()["job_id"]
    job = _wait(api, job_id)
    return _row("CSV of URLs", job, time.monotonic() - started, sum(len(b) for _, b in media))


def bench_zip(api: httpx.Client, server: MediaServer, media: list[tuple[str, bytes]],
              project_id: str) -> tuple[str, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # media is compressed already
        archive.writestr("manifest.csv", "file,media_type,name\n" + "".join(f"{n},image,{n}\n" for n, _ in media))
        for name, body in media:
            archive.writestr(name, body)
    url = server.add("/bench.zip", buffer.getvalue(), "application/zip")
    started = time.monotonic()
    job_id = api.post("/v1/bulk/zip", json={"zip_url": url}).json()["job_id"]
    job = _wait(api, job_id)
    seconds = time.monotonic() - started
    record = JobRepository().get(project_id, job_id)
    assert record is not None and record.expanded_at is not None
    expand_s = (record.expanded_at - record.created_at).total_seconds()
    size = len(buffer.getvalue())
    expand = (f"| ZIP expand step alone ({size / 1e6:.0f} MB archive) | {job['total']:,} | - | {expand_s:.1f} s | "
              f"{job['total'] / expand_s * 60:,.0f} | {size / expand_s / 1e6:.2f} |")
    return _row("ZIP with manifest", job, seconds, sum(len(b) for _, b in media)), expand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    media = _media(args.corpus, args.rows)
    runtime = LocalRuntime(port=0, credentials_path=Path(tempfile.mkdtemp()) / "dev-credentials.json")
    runtime.start()
    server = MediaServer()
    try:
        api, _ = _project_client(runtime.base_url, "BenchCsv")
        with api:
            csv_row = bench_csv(api, server, media)
        print(csv_row, flush=True)
        api, project_id = _project_client(runtime.base_url, "BenchZip")
        with api:
            zip_row, expand_row = bench_zip(api, server, media, project_id)
    finally:
        server.server.shutdown()
        runtime.stop()
    table = "\n".join(["| job | rows | ready | wall time | rows/min | media MB/s |", "|---|---|---|---|---|---|",
                       csv_row, zip_row, expand_row])
    print(table)
    source = "the corpus photos" if args.corpus else "synthetic 640x480 JPEGs"
    command = f"python bench/bulk_ingest.py{' --corpus CORPUS' if args.corpus else ''} --rows {args.rows}"
    body = (f"`{command}`: {args.rows:,} rows of {source} "
            f"({sum(len(b) for _, b in media) / 1e6:.0f} MB), one process on this 2-core machine (shared), "
            "the whole local runtime (moto endpoint, Step Functions, 4 concurrent index batches). Wall "
            "time runs from the POST to the finished job; the index worker's fingerprinting and "
            "per-asset writes dominate, so rows/min scales with worker concurrency when deployed "
            "(Lambda runs many batches at once).\n\n" + table)
    if args.write_docs:
        write_section("Bulk ingest", body)


if __name__ == "__main__":
    main()
