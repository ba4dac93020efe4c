"""The deployed path: API Gateway's Lambda authorizer resolves the credential with the shared code and
the function trusts its context; refusals still come back in the one error envelope."""

from __future__ import annotations

import json

import pytest

from medialayer.local.functions import load_handler
from medialayer.local.lambda_context import LocalLambdaContext


def _spec(runtime, logical_id: str):
    return next(s for s in runtime.stack.functions() if s.logical_id == logical_id)


def _http_event(path: str, headers: dict[str, str], authorizer: dict[str, str], method: str = "GET") -> dict:
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": headers,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "192.0.2.1", "protocol": "HTTP/1.1"},
                           "requestId": "r1", "stage": "$default", "authorizer": {"lambda": authorizer}},
    }


@pytest.fixture(scope="module")
def authorize(runtime):
    handler = load_handler(_spec(runtime, "AuthorizerFunction"))

    def run(headers: dict[str, str]) -> dict:
        response = handler({"version": "2.0", "type": "REQUEST", "headers": headers, "rawPath": "/v1/usage"},
                           LocalLambdaContext("AuthorizerFunction"))
        assert response["isAuthorized"] is True
        return response["context"]

    return run


def test_authorizer_resolves_keys_tokens_and_refusals(runtime, authorize) -> None:
    creds = runtime.credentials
    principal = json.loads(authorize({"x-api-key": creds.api_key})["principal"])
    assert principal["project_id"] == creds.project_id
    user = json.loads(authorize({"authorization": f"Bearer {creds.owner_token}"})["user"])
    assert user["role"] == "owner"
    assert authorize({"x-api-key": "ml_wrong"}) == {"error_code": "unauthorized",
                                                     "error_message": "unknown or revoked API key"}
    assert authorize({})["error_code"] == "unauthorized"
    assert all(isinstance(v, str) for v in authorize({"x-api-key": creds.api_key}).values())


def test_function_trusts_the_authorizer_context(runtime, authorize) -> None:
    manage = load_handler(_spec(runtime, "ManageFunction"))
    context = authorize({"x-api-key": runtime.credentials.api_key})
    # No credential header reaches the function: only the authorizer's verdict.
    ok = manage(_http_event("/v1/usage", {}, context), LocalLambdaContext("ManageFunction"))
    assert ok["statusCode"] == 200, ok["body"]
    assert json.loads(ok["body"])["project_id"] == runtime.credentials.project_id
    refused = manage(_http_event("/v1/usage", {}, authorize({"x-api-key": "ml_wrong"})),
                     LocalLambdaContext("ManageFunction"))
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"]) == {"error": {"code": "unauthorized", "message": "unknown or revoked API key"}}
    wrong_kind = manage(_http_event("/v1/me", {}, context), LocalLambdaContext("ManageFunction"))
    assert wrong_kind["statusCode"] == 401
