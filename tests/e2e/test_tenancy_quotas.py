"""Plans enforced: atomic monthly quotas under parallel load, feature flags, rate limits, alerts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from medialayer.dal.clients import client
from tests.conftest import encode, synthetic_photo
from tests.e2e._tenancy import new_org


@pytest.fixture(scope="module")
def photo_url(media_server) -> str:
    return media_server.add("/quota.jpg", encode(synthetic_photo(7, (320, 240)), quality=80), "image/jpeg")


def _parallel_matches(base_url: str, key: str, url: str, n: int) -> list[httpx.Response]:
    def one(_: int) -> httpx.Response:
        return httpx.post(f"{base_url}/image/match", headers={"x-api-key": key},
                          json={"source_url": url, "target_url": url}, timeout=120)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _codes(responses: list[httpx.Response]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in responses:
        code = "ok" if r.status_code == 200 else r.json()["error"]["code"]
        counts[code] = counts.get(code, 0) + 1
    return counts


def test_fifty_parallel_queries_against_twenty_left_let_exactly_twenty_through(runtime, photo_url) -> None:
    org = new_org(runtime.base_url, "Burst")
    org.set_plan("twenty-queries")
    _, key = org.key(["image:search", "usage:read"])
    responses = _parallel_matches(runtime.base_url, key, photo_url, 50)
    assert _codes(responses) == {"ok": 20, "quota_exceeded": 30}
    refused = next(r for r in responses if r.status_code == 429)
    assert "search_queries" in refused.json()["error"]["message"] and "resets" in refused.json()["error"]["message"]
    usage = httpx.get(f"{runtime.base_url}/v1/usage", headers={"x-api-key": key}).json()
    assert usage["quotas"]["search_queries"]["used"] == 20
    assert usage["quotas"]["search_queries"]["limit"] == 20
    # Monthly quotas reset at the start of the next period (December's in the next year).
    year, month = (int(part) for part in usage["period"][:7].split("-"))
    next_period = f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"
    assert usage["quotas"]["search_queries"]["resets_at"].startswith(next_period)
    assert {(a["quota"], a["percent"]) for a in usage["alerts"]} == {("search_queries", 80),
                                                                      ("search_queries", 100)}


def test_search_bytes_quota_is_exact_under_parallel_load(runtime, media_server, photo_url) -> None:
    org = new_org(runtime.base_url, "Bytes")
    org.set_plan("small-bytes")  # 100,000 bytes a month
    _, key = org.key(["image:search", "usage:read"])
    pair_bytes = 2 * len(media_server.files["/quota.jpg"][0])
    allowed = 100_000 // pair_bytes
    assert 2 <= allowed < 20
    responses = _parallel_matches(runtime.base_url, key, photo_url, 20)
    assert _codes(responses) == {"ok": allowed, "quota_exceeded": 20 - allowed}
    usage = httpx.get(f"{runtime.base_url}/v1/usage", headers={"x-api-key": key}).json()
    assert usage["quotas"]["search_bytes"]["used"] == allowed * pair_bytes


def test_disabled_feature_is_refused_regardless_of_quota(runtime, photo_url) -> None:
    org = new_org(runtime.base_url, "NoImages")
    org.set_plan("no-image")
    _, key = org.key(["image:search"])
    response = httpx.post(f"{runtime.base_url}/image/match", headers={"x-api-key": key},
                          json={"source_url": photo_url, "target_url": photo_url})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "feature_disabled"


def test_requests_per_second_are_limited_per_key(runtime) -> None:
    org = new_org(runtime.base_url, "Slow")
    org.set_plan("slow")  # 3 requests per second per key
    _, key = org.key(["usage:read"])
    _, other_key = org.key(["usage:read"])

    def one(k: str) -> int:
        return httpx.get(f"{runtime.base_url}/v1/usage", headers={"x-api-key": k}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(one, [key] * 12))
    assert statuses.count(429) >= 6  # at most 3 per second, and a burst of 12 spans at most 2 seconds
    assert statuses.count(200) >= 1
    assert one(other_key) == 200  # the limit is per key


def test_quota_alerts_are_published_to_the_alerts_topic(runtime, photo_url) -> None:
    sqs, sns = client("sqs"), client("sns")
    queue = sqs.create_queue(QueueName="alerts-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    from medialayer.settings import get_settings

    sns.subscribe(TopicArn=get_settings().alerts_topic_arn, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    org = new_org(runtime.base_url, "Alerted")
    org.set_plan("twenty-queries")
    _, key = org.key(["image:search"])
    _parallel_matches(runtime.base_url, key, photo_url, 17)  # 17 of 20 crosses 80%, not 100%
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    alerts = [json.loads(m["Body"]) for m in messages]
    mine = [a for a in alerts if a["org_id"] == org.org_id]
    assert [(a["quota"], a["percent"], a["limit"]) for a in mine] == [("search_queries", 80, 20)]
