"""Bulk jobs: their records, row errors and counters (main table), and their files (uploads bucket).

Items (docs/data-model.md): the job ``PROJECT#{p} / JOB#{job}`` holds the counters; each row error is
``PROJECT#{p} / JOB#{job}#ERR#{row}``. An asset of a job changes status in one transaction with
the job's counters (and its error item; dal/asset_moves.py), so the counters can never disagree
with the assets.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from medialayer.dal.assets import asset_item
from medialayer.dal.clients import client
from medialayer.dal.table import Table, asset_key, deserialize, serialize
from medialayer.errors import MediaLayerError
from medialayer.models.assets import Asset
from medialayer.models.jobs import JobRecord, RowError
from medialayer.settings import get_settings

_BATCH_WRITE = 25  # DynamoDB's BatchWriteItem limit
_BATCH_GET = 100  # DynamoDB's BatchGetItem limit
_SQS_BATCH = 10  # SQS's SendMessageBatch limit
_ROWS_PER_TRANSACTION = 99  # one error item each, plus the job's counters: DynamoDB's 100 items


def job_key(project_id: str, job_id: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": f"JOB#{job_id}"}


def job_error_key(project_id: str, job_id: str, row: int) -> dict[str, str]:
    # Zero-padded so errors list in row order.
    return {"pk": f"PROJECT#{project_id}", "sk": f"JOB#{job_id}#ERR#{row:07d}"}


def _jobs_index(project_id: str) -> str:
    return f"PROJECT#{project_id}#JOBS"


def _plain(value: Any) -> Any:
    """JSON values in DynamoDB's number type (it takes Decimal, not float)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class JobRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    @property
    def _ddb(self) -> Any:
        return client("dynamodb")

    # -- the job item
    def put(self, job: JobRecord) -> None:
        item = job.model_dump(mode="json", exclude={"errors", "error_report_url"})
        self.table.put({**job_key(job.project_id, job.job_id), **_plain(item), "gsi1pk": _jobs_index(job.project_id),
                        "gsi1sk": f"{item['created_at']}#{job.job_id}"}, if_absent=True)

    def get(self, project_id: str, job_id: str) -> JobRecord | None:
        item = self.table.get(job_key(project_id, job_id), consistent=True)
        return JobRecord.model_validate(item) if item else None

    def update(self, project_id: str, job_id: str, **values: Any) -> None:
        self.table.update(job_key(project_id, job_id), _plain(values))

    def start_counting(self, project_id: str, job_id: str, *, total: int, pending: int, rejected: int,
                       chunks: int, now: str) -> bool:
        """Set the counters once, when the rows are known; False when an earlier attempt already did."""
        values = {"total": total, "pending": pending, "rejected": rejected, "chunks": chunks, "status": "running",
                  "expanded_at": now, "updated_at": now}
        try:
            self._ddb.update_item(
                TableName=self.table.name, Key=serialize(job_key(project_id, job_id)),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))),
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(expanded_at)",
                ExpressionAttributeNames={f"#f{i}": k for i, k in enumerate(values)},
                ExpressionAttributeValues=serialize({f":v{i}": v for i, v in enumerate(values.values())}))
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def list(self, project_id: str, limit: int, cursor: str | None) -> tuple[list[JobRecord], str | None]:
        start = _decode_cursor(cursor, _jobs_index(project_id)) if cursor else None
        items, last = self.table.query_gsi1_page(_jobs_index(project_id), limit=limit, start=start)
        return [JobRecord.model_validate(i) for i in items], _encode_cursor(last) if last else None

    # -- row errors
    def put_errors(self, project_id: str, job_id: str, errors: list[RowError]) -> None:
        """Idempotent: an error item is keyed by its row, so writing it twice leaves one."""
        requests = [{"PutRequest": {"Item": serialize({**job_error_key(project_id, job_id, e.row),
                                                       **e.model_dump(mode="json")})}} for e in errors]
        for start in range(0, len(requests), _BATCH_WRITE):
            self._batch_write(requests[start:start + _BATCH_WRITE])

    def errors(self, project_id: str, job_id: str, limit: int | None = None) -> Iterator[RowError]:
        """The job's row errors in row order (all of them, or the first ``limit``)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table.name, "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": serialize({":p": f"PROJECT#{project_id}", ":s": f"JOB#{job_id}#ERR#"})}
        seen = 0
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - seen
            out = self._ddb.query(**kwargs)
            for item in out.get("Items", []):
                yield RowError.model_validate({k: v for k, v in _deserialize(item).items() if k not in ("pk", "sk")})
                seen += 1
            if "LastEvaluatedKey" not in out or (limit is not None and seen >= limit):
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    # -- the job's assets
    def create_assets(self, assets: list[Asset], *, create_missing: bool = True) -> list[Asset]:
        """Create the assets that do not exist yet; return those still waiting for the index queue
        (new, or pending since an earlier attempt), so a repeated fan-out neither duplicates nor loses one.
        With ``create_missing`` False (the chunk's assets were all created before) a missing asset was
        deleted meanwhile, and stays deleted."""
        waiting: list[Asset] = []
        for start in range(0, len(assets), _BATCH_GET):
            batch = assets[start:start + _BATCH_GET]
            existing = self._existing_status(batch)
            new = [a for a in batch if a.asset_id not in existing] if create_missing else []
            requests = [{"PutRequest": {"Item": serialize(_plain(asset_item(a)))}} for a in new]
            for offset in range(0, len(requests), _BATCH_WRITE):
                self._batch_write(requests[offset:offset + _BATCH_WRITE])
            existing |= {a.asset_id: a.status for a in new}
            waiting += [a for a in batch if existing.get(a.asset_id) == "pending"]
        return waiting

    def fail_rows(self, project_id: str, job_id: str, errors: list[RowError], now: str) -> int:
        """Rows that never became assets end failed with ``errors``, counted once: a row whose error is
        stored already (an earlier attempt) is skipped. Returns how many rows this call counted."""
        counted = 0
        for start in range(0, len(errors), _ROWS_PER_TRANSACTION):
            batch = errors[start:start + _ROWS_PER_TRANSACTION]
            for _ in range(5):  # each attempt drops the rows whose error appeared meanwhile
                stored = self._stored_error_rows(project_id, job_id, batch)
                batch = [e for e in batch if e.row not in stored]
                if not batch or self._fail_rows_once(project_id, job_id, batch, now):
                    counted += len(batch)
                    break
            else:
                raise RuntimeError(f"could not count {len(batch)} failed rows of job {job_id}")
        return counted

    def _fail_rows_once(self, project_id: str, job_id: str, errors: list[RowError], now: str) -> bool:
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self.table.name, "ConditionExpression": "attribute_not_exists(pk)",
            "Item": serialize({**job_error_key(project_id, job_id, e.row), **e.model_dump(mode="json")})}}
            for e in errors]
        items.append({"Update": {
            "TableName": self.table.name, "Key": serialize(job_key(project_id, job_id)),
            "UpdateExpression": "ADD pending :minus, failed :n SET updated_at = :now",
            "ExpressionAttributeValues": serialize({":minus": -len(errors), ":n": len(errors), ":now": now})}})
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except self._ddb.exceptions.TransactionCanceledException:
            return False  # an error item appeared meanwhile (or a conflict): look again
        return True

    # -- helpers
    def _existing_status(self, assets: list[Asset]) -> dict[str, str]:
        keys = [serialize(asset_key(a.project_id, a.asset_id)) for a in assets]
        found: dict[str, str] = {}
        request: dict[str, Any] = {self.table.name: {"Keys": keys, "ConsistentRead": True,
                                                     "ProjectionExpression": "asset_id, #s",
                                                     "ExpressionAttributeNames": {"#s": "status"}}}
        while request:
            out = self._ddb.batch_get_item(RequestItems=request)
            for item in out.get("Responses", {}).get(self.table.name, []):
                plain = _deserialize(item)
                found[plain["asset_id"]] = plain["status"]
            request = out.get("UnprocessedKeys") or {}
        return found

    def _stored_error_rows(self, project_id: str, job_id: str, errors: list[RowError]) -> set[int]:
        keys = [job_error_key(project_id, job_id, e.row) for e in errors]
        return {int(i["row"]) for i in self.table.batch_get(keys)}

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table.name: requests}
        while pending:
            pending = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if isinstance(v, Decimal) and v == int(v) else v for k, v in deserialize(item).items()}


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_cursor(cursor: str, index: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise MediaLayerError("invalid_request", "cursor is not one this API returned") from None
    if not isinstance(key, dict) or key.get("gsi1pk") != index:
        raise MediaLayerError("invalid_request", "cursor is not one this API returned")
    return key


class JobFiles:
    """A job's inputs, row chunks and error report, under ``jobs/{project}/{job}/`` of the uploads bucket."""

    def __init__(self, project_id: str, job_id: str, bucket: str | None = None) -> None:
        self.bucket = bucket or get_settings().uploads_bucket
        self.prefix = f"jobs/{project_id}/{job_id}/"

    @property
    def _s3(self) -> Any:
        return client("s3")

    def key(self, name: str) -> str:
        return self.prefix + name

    def put(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self._s3.put_object(Bucket=self.bucket, Key=self.key(name), Body=data, ContentType=content_type)
        return self.key(name)

    def get(self, name: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()

    def find(self, name: str) -> bytes | None:
        """The file, or None if it does not exist (any more)."""
        try:
            return self.get(name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise

    def presign_get(self, key: str, ttl_s: int) -> str:
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                               ExpiresIn=ttl_s)

    def delete(self, *names: str) -> None:
        keys = [{"Key": self.key(n)} for n in names]
        for start in range(0, len(keys), 1000):
            self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})

    def multipart(self, name: str, part_bytes: int) -> MultipartWriter:
        return MultipartWriter(self.bucket, self.key(name), part_bytes)


class MultipartWriter:
    """Write a stream to S3 in parts: memory holds one part, never the object."""

    def __init__(self, bucket: str, key: str, part_bytes: int) -> None:
        self.bucket, self.key, self.part_bytes = bucket, key, part_bytes
        self.size = 0
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None

    def __enter__(self) -> MultipartWriter:
        out = client("s3").create_multipart_upload(Bucket=self.bucket, Key=self.key)
        self._upload_id = out["UploadId"]
        return self

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        self.size += len(chunk)
        if len(self._buffer) >= self.part_bytes:
            self._flush()

    def _flush(self) -> None:
        number = len(self._parts) + 1
        out = client("s3").upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                       PartNumber=number, Body=bytes(self._buffer))
        self._parts.append({"PartNumber": number, "ETag": out["ETag"]})
        self._buffer.clear()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        s3 = client("s3")
        if exc_type is not None:
            s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            return
        if self._buffer or not self._parts:
            self._flush()
        s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                     MultipartUpload={"Parts": self._parts})


class S3RangeReader(io.RawIOBase):
    """A seekable, read-only view of an S3 object that fetches only the ranges read (ZIP central
    directory at the end, then each entry). Wrap it in ``io.BufferedReader`` for block-sized GETs."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__()
        self.bucket, self.key = bucket, key
        try:
            self.size = int(client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise MediaLayerError("fetch_failed", "the archive is not in storage") from None
            raise
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self._pos)
        if want <= 0:
            return 0
        out = client("s3").get_object(Bucket=self.bucket, Key=self.key,
                                      Range=f"bytes={self._pos}-{self._pos + want - 1}")
        data = out["Body"].read()
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def open_object(bucket: str, key: str, block_bytes: int) -> io.BufferedReader:
    return io.BufferedReader(S3RangeReader(bucket, key), buffer_size=block_bytes)


def upload_stream(bucket: str, key: str, stream: Any) -> None:
    """Copy a readable stream to S3 (boto3's managed transfer: multipart, bounded memory)."""
    client("s3").upload_fileobj(stream, bucket, key)


class BulkStateMachine:
    def start(self, job_id: str, payload: dict[str, Any]) -> str:
        arn = get_settings().bulk_state_machine_arn
        if not arn:
            raise MediaLayerError("internal_error", "bulk jobs are not configured (no state machine)")
        try:
            out = client("stepfunctions").start_execution(stateMachineArn=arn, name=job_id,
                                                          input=json.dumps(payload))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            return f"{arn.replace(':stateMachine:', ':execution:')}:{job_id}"
        return str(out["executionArn"])


def send_index_messages(messages: list[dict[str, Any]]) -> None:
    """Queue work for the index worker, ten messages a request; refused entries are retried."""
    sqs = client("sqs")
    url = get_settings().index_queue_url
    for start in range(0, len(messages), _SQS_BATCH):
        entries = [{"Id": str(i), "MessageBody": json.dumps(m)}
                   for i, m in enumerate(messages[start:start + _SQS_BATCH])]
        for _ in range(5):
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
            if not failed:
                break
            retry = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in retry]
        else:
            raise RuntimeError(f"SQS refused {len(entries)} index messages")
