"""Upload slots: their records in the main table and their bytes in the uploads bucket."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from medialayer.dal.clients import client
from medialayer.dal.table import Table, upload_key
from medialayer.models.uploads import Upload
from medialayer.settings import get_settings


class UploadRepository:
    def __init__(self, table: Table | None = None, bucket: str | None = None) -> None:
        self.table = table or Table()
        self.bucket = bucket or get_settings().uploads_bucket

    @property
    def _s3(self) -> Any:
        return client("s3")

    def put(self, upload: Upload) -> None:
        self.table.put({**upload_key(upload.project_id, upload.upload_id), **upload.model_dump(mode="json")},
                       if_absent=True)

    def get(self, project_id: str, upload_id: str) -> Upload | None:
        item = self.table.get(upload_key(project_id, upload_id), consistent=True)
        return Upload.model_validate(item) if item else None

    def update(self, project_id: str, upload_id: str, **values: Any) -> None:
        self.table.update(upload_key(project_id, upload_id), values)

    def presign_put(self, s3_key: str, content_type: str, size: int, ttl_s: int) -> str:
        # Content-Length and Content-Type are signed: S3 refuses a PUT of any other size or type.
        return self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": s3_key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=ttl_s,
        )

    def object_size(self, s3_key: str) -> int | None:
        """The stored object's size, or None when nothing was uploaded yet."""
        try:
            return int(self._s3.head_object(Bucket=self.bucket, Key=s3_key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def read_head(self, s3_key: str, length: int) -> bytes:
        out = self._s3.get_object(Bucket=self.bucket, Key=s3_key, Range=f"bytes=0-{length - 1}")
        return out["Body"].read()

    def read(self, s3_key: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=s3_key)["Body"].read()

    def delete_object(self, s3_key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=s3_key)
