"""Lambda on the embedded endpoint: the template's functions exist in moto, and invoking one runs our
handler in this process.

moto's Lambda runs function code in Docker, which the local runtime neither has nor needs: the
handlers are already imported here. So every template function is created in moto's Lambda (ARNs,
``GetFunction`` and Step Functions' ``lambda:invoke`` resolve as in AWS), and moto's invoke is
routed to the handler named by the template's ``CodeUri`` and ``Handler``: called with the JSON
event and a Lambda context; an exception becomes Lambda's ``Unhandled`` function error with
``errorType``/``errorMessage``, which Step Functions' Retry and Catch match on, as in AWS.
"""

from __future__ import annotations

import io
import json
import threading
import traceback
import zipfile
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from moto.awslambda import models as moto_lambda

from medialayer.dal.clients import client
from medialayer.local.functions import load_handler
from medialayer.local.lambda_context import LocalLambdaContext
from medialayer.local.template import FunctionSpec, Stack
from medialayer.observability import logger

_specs: dict[str, FunctionSpec] = {}  # by physical function name
_lock = threading.Lock()
_moto_invoke: Callable[..., Any] | None = None
_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
     "Action": "sts:AssumeRole"}]})


def execution_role(stack: Stack) -> str:
    """One role for the local functions and state machines (moto checks that a function's role exists)."""
    iam = client("iam")
    name = f"{stack.stack_name}-local-execution"
    try:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])


def register_functions(stack: Stack) -> None:
    """Create each template function in moto's Lambda and route its invocations to our handler."""
    _install()
    role = execution_role(stack)
    lam = client("lambda")
    for spec in stack.functions():
        _specs[spec.name] = spec
        try:
            lam.create_function(FunctionName=spec.name, Runtime="python3.11", Role=role,
                                Handler=f"{spec.module}.{spec.attribute}", Code={"ZipFile": _placeholder_zip()},
                                Timeout=int(spec.timeout_s))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceConflictException":
                raise


def _install() -> None:
    global _moto_invoke
    with _lock:
        if _moto_invoke is None:
            _moto_invoke = moto_lambda.LambdaFunction.invoke
            moto_lambda.LambdaFunction.invoke = _invoke  # type: ignore[method-assign]


def _invoke(function: Any, body: str | bytes | None, request_headers: Any, response_headers: Any) -> bytes:
    spec = _specs.get(function.function_name)
    if spec is None:  # a function this runtime did not create: moto's own behaviour
        assert _moto_invoke is not None
        return _moto_invoke(function, body, request_headers, response_headers)
    event = json.loads(body) if body else {}
    if request_headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
        threading.Thread(target=_run, args=(spec, event), name=f"lambda-{spec.logical_id}", daemon=True).start()
        return b""
    result, failed = _run(spec, event)
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
    return result


def _run(spec: FunctionSpec, event: Any) -> tuple[bytes, bool]:
    context = LocalLambdaContext(function_name=spec.name, timeout_s=spec.timeout_s)
    try:
        result = load_handler(spec)(event, context)
    except Exception as exc:
        logger.exception("function failed", extra={"function": spec.logical_id})
        error = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                 "stackTrace": traceback.format_tb(exc.__traceback__)}
        return json.dumps(error).encode(), True
    return json.dumps(result, default=str).encode(), False


def _placeholder_zip() -> bytes:
    # moto wants a deployment package; the code that runs is the template's CodeUri, loaded here.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "MediaLayer local runtime: invoked in-process from CodeUri\n")
    return buffer.getvalue()
