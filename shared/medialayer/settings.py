"""The one settings object, read from the environment once per process."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MB = 1_000_000


class Settings(BaseSettings):
    """Every knob of the service. Names match the environment variables the SAM template sets."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True)

    # AWS resources (the template passes these to every function; the local runtime derives the
    # same values from the template, see medialayer.local.template).
    table_name: str = Field("medialayer-local-main", alias="MEDIALAYER_TABLE")
    media_bucket: str = Field("medialayer-local-media", alias="MEDIALAYER_MEDIA_BUCKET")
    uploads_bucket: str = Field("medialayer-local-uploads", alias="MEDIALAYER_UPLOADS_BUCKET")
    index_queue_url: str | None = Field(None, alias="MEDIALAYER_INDEX_QUEUE_URL")
    idempotency_table: str = Field("medialayer-local-idempotency", alias="MEDIALAYER_IDEMPOTENCY_TABLE")
    # Runs bulk jobs; only the bulk API function is given it (the state machine names the step functions).
    bulk_state_machine_arn: str | None = Field(None, alias="MEDIALAYER_BULK_STATE_MACHINE_ARN")
    aws_region: str = Field("us-east-1", alias="AWS_REGION")
    # Unset in AWS; the local runtime points it at its embedded endpoint, or a user at LocalStack.
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")

    # Per-medium caps (seed 001, API.md): bytes enforced while streaming, seconds after probing.
    image_max_bytes: int = 15 * MB
    audio_max_bytes: int = 50 * MB
    audio_max_seconds: float = 300.0
    video_max_bytes: int = 100 * MB
    video_max_seconds: float = 180.0

    # Fetching remote media.
    fetch_connect_timeout_s: float = Field(5.0, alias="MEDIALAYER_FETCH_CONNECT_TIMEOUT")
    fetch_total_timeout_s: float = Field(30.0, alias="MEDIALAYER_FETCH_TOTAL_TIMEOUT")
    fetch_max_redirects: int = 5
    allow_private_networks: Annotated[
        list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode
    ] = Field(default_factory=list, alias="MEDIALAYER_ALLOW_PRIVATE_NETWORKS")

    # Tenancy: plans file (None = the built-in plans.json), alerts topic, auth cache.
    plans_path: str | None = Field(None, alias="MEDIALAYER_PLANS")
    alerts_topic_arn: str | None = Field(None, alias="MEDIALAYER_ALERTS_TOPIC_ARN")
    # How long a resolved key or token is trusted in-process: a revoked key stops working after this.
    auth_cache_ttl_s: float = Field(5.0, alias="MEDIALAYER_AUTH_CACHE_TTL")

    # Search: segment bytes one search function holds in memory (a shard); larger indexes are split
    # into shards by segment and searched in parallel by the shard function, results merged.
    search_shard_bytes: int = Field(2_000_000_000, alias="MEDIALAYER_SEARCH_SHARD_BYTES")
    search_shard_function: str | None = Field(None, alias="MEDIALAYER_SEARCH_SHARD_FUNCTION")

    # Presigned uploads.
    upload_url_ttl_s: int = 3600

    # Set by Lambda itself: a function's CPU time comes with its memory (media/base.py, on_both_sides).
    lambda_memory_mb: int | None = Field(None, alias="AWS_LAMBDA_FUNCTION_MEMORY_SIZE")

    # Local runtime.
    port: int = Field(8000, alias="MEDIALAYER_PORT")
    dev_credentials_path: str = Field(".medialayer/dev-credentials.json", alias="MEDIALAYER_DEV_CREDENTIALS")

    @field_validator("allow_private_networks", mode="before")
    @classmethod
    def _parse_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
        return value

    def max_bytes(self, media_type: str) -> int:
        return {"image": self.image_max_bytes, "audio": self.audio_max_bytes, "video": self.video_max_bytes}[
            media_type
        ]

    @property
    def largest_max_bytes(self) -> int:
        return max(self.image_max_bytes, self.audio_max_bytes, self.video_max_bytes)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
