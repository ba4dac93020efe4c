"""The FastAPI application every API function (and the local runtime) serves."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter, FastAPI

from medialayer import __version__
from medialayer.api.body_limit import BodyLimitMiddleware
from medialayer.api.errors import install_error_handlers
from medialayer.models.common import ErrorEnvelope

HealthCheck = Callable[[], str | None]
"""Returns None when healthy, else a short reason."""


def create_app(routers: Iterable[APIRouter], *, title: str = "MediaLayer") -> FastAPI:
    app = FastAPI(
        title=title,
        version=__version__,
        responses={400: {"model": ErrorEnvelope}, 401: {"model": ErrorEnvelope},
                   403: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope}},
    )
    app.state.health_checks = []
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    for router in routers:
        app.include_router(router)
    return app
