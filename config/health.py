"""Liveness and readiness probes for load balancers and the run script."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthzView(APIView):
    """The process is up. Touches nothing else, so it stays cheap under load."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        responses={200: inline_serializer("Healthz", {"status": serializers.CharField()})}, tags=["operations"]
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyzView(APIView):
    """Ready to serve: the database answers, the broker answers, no migration is pending.

    503 with the failing checks otherwise.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        responses={
            200: inline_serializer("Readyz", {"status": serializers.CharField(), "checks": serializers.DictField()}),
            503: inline_serializer(
                "ReadyzFailing", {"status": serializers.CharField(), "checks": serializers.DictField()}
            ),
        },
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        checks = {"database": _check_database(), "broker": _check_broker(), "migrations": _check_migrations()}
        ready = all(check["ok"] for check in checks.values())
        return Response({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _check_database() -> dict[str, Any]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "engine": connections[DEFAULT_DB_ALIAS].vendor}
    except Exception as exc:  # any failure means not ready; the reason goes to the operator
        return {"ok": False, "error": exc.__class__.__name__}


def _check_broker() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "in-process tasks (no REDIS_URL)"}
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.BROKER_CHECK_TIMEOUT,
            socket_timeout=settings.BROKER_CHECK_TIMEOUT,
        )
        client.ping()
        client.close()
        return {"ok": True, "mode": "redis"}
    except redis.RedisError as exc:
        return {"ok": False, "mode": "redis", "error": exc.__class__.__name__}


def _check_migrations() -> dict[str, Any]:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return {"ok": not pending, "pending": len(pending)}
    except Exception as exc:  # an unreachable database shows up here too
        return {"ok": False, "error": exc.__class__.__name__}
