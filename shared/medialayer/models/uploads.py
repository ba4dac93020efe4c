from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class UploadRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=512)
    content_type: str = Field("application/octet-stream", max_length=255)
    bytes: int = Field(gt=0, description="exact size of the file the client will PUT")


class UploadCreated(BaseModel):
    upload_id: str
    upload_url: str
    expires_at: datetime


class Upload(BaseModel):
    """An upload slot in the uploads bucket, owned by one project."""

    upload_id: str
    project_id: str
    filename: str
    content_type: str
    bytes: int
    s3_key: str
    status: Literal["pending", "received", "rejected"] = "pending"
    detected_format: str | None = None
    error: str | None = None
    created_at: datetime
    expires_at: datetime
