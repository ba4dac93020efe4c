"""Usage counters, rate windows and quota alerts in the main table; alerts also go to SNS."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from medialayer.dal.clients import client
from medialayer.dal.table import Table, alert_key, rate_key, usage_key
from medialayer.settings import get_settings

# Rate windows are one second long; DynamoDB's TTL sweeps them up after a minute.
_RATE_ITEM_TTL_S = 60


class UsageRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def add(self, project_id: str, period: str, counter: str, amount: int, limit: int | None) -> int | None:
        """The counter's new value, or None if adding ``amount`` would pass ``limit``."""
        return self.table.increment(usage_key(project_id, period), counter, amount, limit=limit)

    def counters(self, project_id: str, period: str) -> dict[str, int]:
        item = self.table.get(usage_key(project_id, period), consistent=True) or {}
        return {k: int(v) for k, v in item.items() if k not in ("pk", "sk")}

    def take_request(self, key_id: str, per_second: int) -> bool:
        """Count one request in this second's window; False once the window is full."""
        second = int(time.time())
        count = self.table.increment(rate_key(key_id, second), "n", 1, limit=per_second,
                                     extra={"ttl": second + _RATE_ITEM_TTL_S})
        return count is not None

    def record_alert(self, project_id: str, period: str, quota: str, percent: int, detail: dict[str, Any]) -> bool:
        """Store the alert once per project, period, quota and threshold; True if this call stored it."""
        try:
            self.table.put({**alert_key(project_id, period, quota, percent), "project_id": project_id,
                            "period": period, "quota": quota, "percent": percent, **detail}, if_absent=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def alerts(self, project_id: str) -> list[dict[str, Any]]:
        return self.table.query_prefix(f"PROJECT#{project_id}", "ALERT#")

    def publish_alert(self, subject: str, message: dict[str, Any]) -> None:
        topic = get_settings().alerts_topic_arn
        if topic:
            client("sns").publish(TopicArn=topic, Subject=subject[:100], Message=json.dumps(message))
