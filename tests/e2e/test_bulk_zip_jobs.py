"""Bulk ZIP jobs end to end: the archive is streamed from its URL into S3 in parts, read back by ranges,
its manifest's files extracted to the assets' originals; unsafe archives fail the job. Archives are
built at test time."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import httpx
import pytest

from medialayer.dal.clients import client
from medialayer.logic import bulk_steps
from medialayer.logic.bulk_limits import MiB
from tests.conftest import encode, synthetic_photo
from tests.e2e._bulk import wait_for_job


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _manifest(rows: list[tuple[str, str, str]]) -> bytes:
    return ("file,media_type,name\n" + "".join(f"{f},{t},{n}\n" for f, t, n in rows)).encode()


def test_a_zip_from_a_url_is_streamed_in_parts_and_its_files_indexed(
        api: httpx.Client, runtime, media_server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small parts and read blocks, so a 12 MB archive takes several of each.
    monkeypatch.setattr(bulk_steps, "PART_BYTES", 5 * MiB)
    monkeypatch.setattr(bulk_steps, "READ_BLOCK_BYTES", 256 * 1024)
    photos = {f"photos/{i}.jpg": encode(synthetic_photo(950 + i, (160, 120))) for i in range(5)}
    rows = [(name, "image", f"photo {i}") for i, name in enumerate(photos)]
    rows += [("photos/absent.jpg", "image", ""), ("notes.txt", "image", "")]
    entries = {"manifest.csv": _manifest(rows), **photos, "notes.txt": b"not an image " * 30,
               "padding.bin": os.urandom(12 * MiB)}  # incompressible, and not in the manifest
    url = media_server.add("/archives/catalog.zip", _zip(entries), "application/zip")

    accepted = api.post("/v1/bulk/zip", json={"zip_url": url})
    assert accepted.status_code == 202, accepted.text
    job = wait_for_job(api, accepted.json()["job_id"], timeout=90)
    assert job["kind"] == "zip" and job["status"] == "partial", job
    assert (job["total"], job["ready"], job["failed"], job["rejected"]) == (7, 5, 1, 1)
    codes = {e["url"]: e["code"] for e in job["errors"]}
    assert codes == {"photos/absent.jpg": "invalid_request", "notes.txt": "unsupported_media"}

    listed = api.get("/v1/assets", params={"media_type": "image", "status": "ready", "limit": 100}).json()["assets"]
    names = {a["name"] for a in listed if a.get("job_id") == job["job_id"]}
    assert names == {f"photo {i}" for i in range(5)}
    # The downloaded archive is gone once the job is done; the extracted originals stay.
    left = client("s3").list_objects_v2(Bucket=runtime.stack.physical_name("UploadsBucket"),
                                        Prefix=f"jobs/{runtime.credentials.project_id}/{job['job_id']}/")
    assert [o["Key"].rsplit("/", 1)[-1] for o in left.get("Contents", [])] == ["errors.csv"]


def test_a_zip_upload_with_its_manifest_in_a_folder(api: httpx.Client) -> None:
    photos = {f"catalog/img/{i}.png": encode(synthetic_photo(960 + i, (160, 120)), "PNG") for i in range(2)}
    body = _zip({"catalog/manifest.csv": _manifest([(n.removeprefix("catalog/"), "image", "") for n in photos]),
                 **photos}, zipfile.ZIP_STORED)
    upload = api.post("/v1/uploads", json={"filename": "c.zip", "content_type": "application/zip",
                                           "bytes": len(body)}).json()
    assert httpx.put(upload["upload_url"], content=body,
                     headers={"content-type": "application/zip"}).status_code == 200
    job = wait_for_job(api, api.post("/v1/bulk/zip", json={"zip_url": f"upload://{upload['upload_id']}"})
                       .json()["job_id"])
    assert job["status"] == "succeeded" and job["ready"] == 2


def _slip() -> bytes:
    return _zip({"manifest.csv": _manifest([("a.jpg", "image", "")]), "a.jpg": b"x", "../../etc/cron.d/x": b"y"})


def _link() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.csv", _manifest([("a.jpg", "image", "")]))
        info = zipfile.ZipInfo("a.jpg")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _bomb() -> bytes:
    return _zip({"manifest.csv": _manifest([("a.jpg", "image", "")]), "a.jpg": bytes(20 * MiB)})


@pytest.mark.parametrize(("build", "code", "words"), [
    (_slip, "invalid_request", "'..'"),
    (_link, "invalid_request", "link"),
    (_bomb, "file_too_large", "decompression bomb"),
    (lambda: b"PK\x03\x04 but not really a zip", "invalid_request", "not a readable ZIP"),
    (lambda: _zip({"photo.jpg": b"x"}), "invalid_request", "manifest.csv"),
])
def test_unsafe_or_unreadable_archives_fail_the_job(api: httpx.Client, media_server, build, code: str,
                                                     words: str) -> None:
    url = media_server.add(f"/archives/bad-{code}-{abs(hash(words))}.zip", build(), "application/zip")
    job = wait_for_job(api, api.post("/v1/bulk/zip", json={"zip_url": url}).json()["job_id"])
    assert job["status"] == "failed" and job["total"] == 0, job
    assert job["error"]["code"] == code and words in job["error"]["message"]


def test_an_unreachable_zip_fails_the_job(api: httpx.Client, media_server) -> None:
    job = wait_for_job(api, api.post("/v1/bulk/zip", json={"zip_url": media_server.base_url + "/gone.zip"})
                       .json()["job_id"])
    assert job["status"] == "failed" and job["error"]["code"] == "fetch_failed"
    refused = api.post("/v1/bulk/zip", json={"zip_url": "file:///etc/passwd"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_url"
    assert api.post("/v1/bulk/zip", json={"zip_url": "upload://upl_nothere"}).status_code == 404
