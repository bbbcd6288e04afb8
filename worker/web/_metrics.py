"""GET /metrics for Prometheus: counts only, no personal data (scrape it from inside)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy.orm import Session, sessionmaker

from worker.metrics import NewsroomCollector
from worker.settings import Settings


def metrics_router(settings: Settings, sessions: sessionmaker[Session]) -> APIRouter:
    registry = CollectorRegistry()
    registry.register(NewsroomCollector(settings, sessions))
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", response_class=Response)
    def metrics() -> Response:
        """Messages by newsletter and outcome, posts by platform and status, queue depths,
        the latest digest's send time per newsletter."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
