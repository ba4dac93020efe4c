"""Bulk job steps: the Lambda tasks of the state machine (infra/statemachines/bulk_job.asl.json).

Each takes and returns the state the machine carries (``StepState``); a ``MediaLayerError`` about
the input ends the job as failed inside the step, anything else is raised for the machine's Retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medialayer.logic.bulk_steps import check_progress, download_job, expand_job, fan_out_chunk, finalize_job
from medialayer.models.jobs import StepState
from medialayer.observability import logger, metrics, tracer

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _task(step: Callable[[StepState], StepState]) -> Handler:
    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        state = StepState.model_validate(event)
        logger.append_keys(job_id=state.job_id)
        return step(state).model_dump(mode="json")

    return handler


download_handler = _task(download_job)
expand_handler = _task(expand_job)
fan_out_handler = _task(fan_out_chunk)
progress_handler = _task(check_progress)
finalize_handler = _task(finalize_job)
