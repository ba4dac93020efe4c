"""The service's Powertools logger, tracer and metrics, shared by every handler."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="medialayer")
tracer = Tracer(service="medialayer")
metrics = Metrics(namespace="MediaLayer", service="medialayer")
