"""What the stub answers: the registry protocol (/v1) and the control API (/_stub), no sockets.

`RegistryApp.handle` takes a parsed Request and returns a Response that may ask the HTTP layer
to sleep first, to close without answering ("drop"), or to hang and then close ("hang").
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote

from registry_stub.faults import FaultDecider, FaultPlan
from registry_stub.settings import SettingsError, StubSettings
from registry_stub.store import CHANGE_STATUSES, Answer, Conflict, RegistryStore, UnknownParticipant, encode
from registry_stub.validation import BadRequest, parse_batch

DEFAULT_API_KEY = "stub-api-key"
DEFAULT_PARTNER_ID = "stub-partner"
DEFAULT_CHANGES_LIMIT = 100
MAX_CHANGES_LIMIT = 1000
BATCHES = "POST /v1/batches"
POLL = "GET /v1/batches/{batch_id}"
CHANGES = "GET /v1/participants/changes"
EVENTS = "POST /v1/participants/{participant_number}/events"
PAYMENTS = "POST /v1/payments"
EVENT_TYPES = ("death", "end")
DEATH_CAUSES = ("work_accident", "other")


class Headers(Protocol):
    """What the app reads of request headers: http.server's HTTPMessage (case-insensitive) or a dict."""

    def get(self, name: str, /) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Headers
    body: bytes
    client_host: str


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    delay_seconds: float = 0.0  # sleep before answering
    deliver: str = "answer"  # "answer", "drop" (close at once) or "hang" (wait hang_seconds, close)
    hang_seconds: float = 0.0


def error(status: int, code: str, message: str, details: Mapping[str, Any] | None = None) -> Response:
    return Response(status, encode({"error": {"code": code, "message": message, "details": dict(details or {})}}))


def ok(data: Any, status: int = 200) -> Response:
    return Response(status, encode(data))


class RegistryApp:
    def __init__(self, store: RegistryStore, *, api_key: str, partner_id: str, settings: StubSettings) -> None:
        self.store = store
        self._api_key = api_key
        self._partner_id = partner_id
        self._settings = settings
        self._settings_lock = threading.Lock()
        self._faults = FaultDecider(settings.seed)
        # Set when the server stops, so hanging answers end at once instead of holding threads.
        self.stopping = threading.Event()

    @property
    def settings(self) -> StubSettings:
        return self._settings

    def handle(self, request: Request) -> Response:
        """Route, answer, and count every /v1 answer (or its absence) in the stats."""
        path = request.path
        if path.startswith("/v1/"):
            route = _route_v1(request.method, path)
            if route is None:
                return error(404, "not_found", f"No endpoint {request.method} {path}.")
            endpoint, handler = route
            settings = self.settings
            if settings.latency_ms:
                time.sleep(settings.latency_ms / 1000)
            response = handler(self, request, settings)
            label = {"drop": "dropped", "hang": "timeout"}.get(response.deliver, str(response.status))
            self.store.count([f"request:{endpoint} -> {label}"])
            return response
        if path.startswith("/_stub/"):
            if not ipaddress.ip_address(request.client_host).is_loopback:
                return error(403, "loopback_only", "The control API answers loopback clients only.")
            control = CONTROL_ROUTES.get((request.method, path))
            if control is None:
                return error(404, "not_found", f"No endpoint {request.method} {path}.")
            try:
                return control(self, request)
            except BadRequest as problem:
                return error(400, problem.code, problem.message, problem.details)
        return error(404, "not_found", f"No endpoint {request.method} {path}.")

    # -- protocol --------------------------------------------------------------------------

    def submit_batch(self, request: Request, settings: StubSettings) -> Response:
        plan = self._faults.decide(settings)
        refused = self._fault_before_processing(plan, settings) or self._authenticate(request)
        if refused is not None:
            return refused
        # Server-Timing reports parsing plus processing: the registry's own time, without transfer.
        started = time.perf_counter()
        try:
            batch = parse_batch(request.body, request.headers.get("Idempotency-Key"))
        except BadRequest as problem:
            return error(400, problem.code, problem.message, problem.details)
        try:
            answer = self.store.submit_batch(batch, settings, async_202=plan.async_202)
        except Conflict:
            return error(
                409,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different body.",
                {"batch_id": batch.batch_id},
            )
        elapsed_ms = (time.perf_counter() - started) * 1000
        # A replay keeps its first answer: a 202 stays a 202 whatever this request drew.
        plan = dataclasses.replace(plan, async_202=plan.async_202 and not answer.replayed)
        return self._deliver(answer, plan, settings, {"Server-Timing": f"process;dur={elapsed_ms:.3f}"})

    def poll_batch(self, request: Request, settings: StubSettings) -> Response:
        plan = dataclasses.replace(self._faults.decide(settings), async_202=False)
        refused = self._fault_before_processing(plan, settings) or self._authenticate(request)
        if refused is not None:
            return refused
        batch_id = unquote(request.path.removeprefix("/v1/batches/"))
        body = self.store.poll_batch(batch_id)
        if body is None:
            return error(404, "batch_not_found", "No batch with this batch_id.", {"batch_id": batch_id})
        return self._deliver(Answer(200, body), plan, settings, {})

    def participant_changes(self, request: Request, settings: StubSettings) -> Response:
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        since = _single(request.query, "since") or "0"
        limit_text = _single(request.query, "limit") or str(DEFAULT_CHANGES_LIMIT)
        if not since.isdigit():
            return error(400, "invalid_cursor", "since must be a cursor returned as next_cursor.")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_CHANGES_LIMIT:
            return error(400, "invalid_limit", f"limit must be an integer from 1 to {MAX_CHANGES_LIMIT}.")
        plan = self._faults.decide_changes(settings)
        if plan.error_5xx:
            self.store.count(["fault:changes_error_5xx"])
            return error(503, "registry_unavailable", "The registry failed; try again later.")
        page = self.store.changes_page(since=int(since), limit=int(limit_text))
        if plan.repeat and page["changes"]:
            # Served again next time: the cursor does not move past this page.
            self.store.count(["fault:changes_repeat"])
            page = {**page, "next_cursor": str(int(since)), "has_more": True}
        return ok(page)

    def participant_event(self, request: Request, settings: StubSettings) -> Response:
        plan = dataclasses.replace(self._faults.decide(settings), async_202=False)
        refused = self._fault_before_processing(plan, settings) or self._authenticate(request)
        if refused is not None:
            return refused
        number = unquote(request.path.removeprefix("/v1/participants/").removesuffix("/events"))
        key = request.headers.get("Idempotency-Key") or ""
        try:
            event = _parse_event(request.body)
        except BadRequest as problem:
            return error(400, problem.code, problem.message, problem.details)
        if not key:
            return error(400, "idempotency_key_missing", "Send an Idempotency-Key header.")
        try:
            answer = self.store.participant_event(number=number, key=key, fingerprint=_fingerprint(event), event=event)
        except Conflict:
            self.store.count(["events:conflicts"])
            return error(409, "idempotency_key_reused", "This Idempotency-Key was used with a different body.")
        except UnknownParticipant as problem:
            return error(404, "participant_not_found", str(problem))
        return self._deliver(answer, plan, settings, {})

    def record_payment(self, request: Request, settings: StubSettings) -> Response:
        plan = dataclasses.replace(self._faults.decide(settings), async_202=False)
        refused = self._fault_before_processing(plan, settings) or self._authenticate(request)
        if refused is not None:
            return refused
        key = request.headers.get("Idempotency-Key") or ""
        try:
            payment = _parse_payment(request.body)
        except BadRequest as problem:
            return error(400, problem.code, problem.message, problem.details)
        if not key:
            return error(400, "idempotency_key_missing", "Send an Idempotency-Key header.")
        try:
            answer = self.store.record_payment(key=key, fingerprint=_fingerprint(payment), payment=payment)
        except Conflict:
            self.store.count(["payments:conflicts"])
            return error(409, "idempotency_key_reused", "This Idempotency-Key was used with a different body.")
        except UnknownParticipant as problem:
            return error(404, "participant_not_found", str(problem))
        return self._deliver(answer, plan, settings, {})

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization") or ""
        scheme, _, key = header.partition(" ")
        # compare_digest: the answer time must not tell how much of a guessed key was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), self._api_key.encode()):
            return dataclasses.replace(
                error(401, "unauthenticated", "Missing or wrong API key."), headers={"WWW-Authenticate": "Bearer"}
            )
        if request.headers.get("X-Partner-Id") != self._partner_id:
            return error(403, "partner_not_allowed", "This API key does not belong to this X-Partner-Id.")
        return None

    def _fault_before_processing(self, plan: FaultPlan, settings: StubSettings) -> Response | None:
        """The faults that answer (or hang) without the registry doing anything."""
        if plan.failure == "error_5xx":
            self.store.count(["fault:error_5xx"])
            if plan.error_status == 502:
                # What a gateway in front of the registry says: not JSON, and the client must cope.
                return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return error(plan.error_status, "registry_unavailable", "The registry failed; try again later.")
        if plan.failure == "rate_limit_429":
            self.store.count(["fault:rate_limit_429"])
            return dataclasses.replace(
                error(429, "rate_limited", "Too many requests."),
                headers={"Retry-After": str(settings.retry_after_seconds)},
            )
        if plan.failure == "timeout" and not settings.timeout_processes:
            self.store.count(["fault:timeout"])
            return Response(0, deliver="hang", hang_seconds=settings.timeout_seconds)
        return None

    def _deliver(self, answer: Answer, plan: FaultPlan, settings: StubSettings, headers: Mapping[str, str]) -> Response:
        """The stored answer, with the faults that strike after processing (counted when they do)."""
        struck = ["async_202"] if plan.async_202 else []
        if plan.failure in ("drop_after_process", "timeout"):
            struck.append(plan.failure)
        elif plan.slow:
            struck.append("slow")
        self.store.count(f"fault:{kind}" for kind in struck)
        if plan.failure == "drop_after_process":
            return Response(0, deliver="drop")
        if plan.failure == "timeout":
            return Response(0, deliver="hang", hang_seconds=settings.timeout_seconds)
        return Response(
            answer.status, answer.body, headers=headers, delay_seconds=settings.slow_seconds if plan.slow else 0.0
        )

    # -- control API -----------------------------------------------------------------------

    def control_health(self, request: Request) -> Response:
        return ok({"status": "ok"})

    def control_stats(self, request: Request) -> Response:
        return ok(self.store.stats())

    def control_participants(self, request: Request) -> Response:
        for field in ("ref", "nik", "participant_number", "batch_id"):
            value = _single(request.query, field)
            if value is not None:
                rows = self.store.participants(field=field, value=value)
                break
        else:
            rows = self.store.participants()
        return ok({"count": len(rows), "participants": rows})

    def control_get_faults(self, request: Request) -> Response:
        return ok(self.settings.to_dict())

    def control_put_faults(self, request: Request) -> Response:
        """PUT: the body is the whole setting, missing keys take their defaults."""
        return self._set_faults(request, base=StubSettings())

    def control_patch_faults(self, request: Request) -> Response:
        """PATCH: the body changes only the keys it names."""
        return self._set_faults(request, base=self.settings)

    def _set_faults(self, request: Request, *, base: StubSettings) -> Response:
        data = _json_object(request.body)
        try:
            new = StubSettings.from_mapping(data, base=base)
        except SettingsError as problem:
            return error(400, "invalid_settings", str(problem))
        with self._settings_lock:
            self._settings = new
            if "seed" in data:
                self._faults.reseed(new.seed)
        return ok(new.to_dict())

    def control_append_changes(self, request: Request) -> Response:
        data = _json_value(request.body)
        items = data.get("changes") if isinstance(data, dict) and "changes" in data else data
        items = items if isinstance(items, list) else [items]
        changes = [_parse_change(index, item) for index, item in enumerate(items)]
        try:
            appended = self.store.append_changes(changes)
        except UnknownParticipant as problem:
            return error(404, "participant_not_found", str(problem))
        return ok({"changes": appended}, status=201)

    def control_lapse(self, request: Request) -> Response:
        """POST /_stub/lapse {"today": "YYYY-MM-DD"}: the registry's nightly three-month check."""
        data = _json_object(request.body)
        try:
            today = datetime.date.fromisoformat(data.get("today") or datetime.date.today().isoformat())
        except (TypeError, ValueError):
            raise BadRequest("invalid_date", "today must be YYYY-MM-DD.") from None
        return ok({"inactive": self.store.lapse(today=today)})

    def control_reset(self, request: Request) -> Response:
        self.store.reset()
        # A test that resets and sets a seed gets the same faults as every other run of it.
        self._faults.reseed(self.settings.seed)
        return ok({"reset": True})


Handler = Callable[[RegistryApp, Request, StubSettings], Response]

CONTROL_ROUTES: dict[tuple[str, str], Callable[[RegistryApp, Request], Response]] = {
    ("GET", "/_stub/health"): RegistryApp.control_health,
    ("GET", "/_stub/stats"): RegistryApp.control_stats,
    ("GET", "/_stub/participants"): RegistryApp.control_participants,
    ("GET", "/_stub/faults"): RegistryApp.control_get_faults,
    ("PUT", "/_stub/faults"): RegistryApp.control_put_faults,
    ("PATCH", "/_stub/faults"): RegistryApp.control_patch_faults,
    ("POST", "/_stub/changes"): RegistryApp.control_append_changes,
    ("POST", "/_stub/reset"): RegistryApp.control_reset,
    ("POST", "/_stub/lapse"): RegistryApp.control_lapse,
}


def _route_v1(method: str, path: str) -> tuple[str, Handler] | None:
    if method == "POST" and path == "/v1/batches":
        return BATCHES, RegistryApp.submit_batch
    if method == "GET" and path.startswith("/v1/batches/") and len(path) > len("/v1/batches/"):
        return POLL, RegistryApp.poll_batch
    if method == "GET" and path == "/v1/participants/changes":
        return CHANGES, RegistryApp.participant_changes
    if method == "POST" and path.startswith("/v1/participants/") and path.endswith("/events"):
        return EVENTS, RegistryApp.participant_event
    if method == "POST" and path == "/v1/payments":
        return PAYMENTS, RegistryApp.record_payment
    return None


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _json_value(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise BadRequest("invalid_json", f"The body is not JSON: {problem}.") from problem


def _json_object(body: bytes) -> dict[str, Any]:
    data = _json_value(body)
    if not isinstance(data, dict):
        raise BadRequest("invalid_json", "The body must be a JSON object.")
    return data


def _parse_change(index: int, item: Any) -> dict[str, str]:
    """One status change for POST /_stub/changes; effective_date defaults to today, reason to ''."""
    if not isinstance(item, dict):
        raise BadRequest("invalid_change", f"changes[{index}] must be an object.")
    number, ref = item.get("participant_number"), item.get("ref")
    if not (isinstance(number, str) and number) and not (isinstance(ref, str) and ref):
        raise BadRequest("invalid_change", f"changes[{index}] needs participant_number or ref.")
    if item.get("status") not in CHANGE_STATUSES:
        raise BadRequest("invalid_change", f"changes[{index}].status must be one of {', '.join(CHANGE_STATUSES)}.")
    effective_date = item.get("effective_date") or datetime.date.today().isoformat()
    reason = item.get("reason") or ""
    try:
        datetime.date.fromisoformat(effective_date)
    except (TypeError, ValueError):
        raise BadRequest("invalid_change", f"changes[{index}].effective_date must be YYYY-MM-DD.") from None
    if not isinstance(reason, str):
        raise BadRequest("invalid_change", f"changes[{index}].reason must be a string.")
    return {
        "participant_number": number if isinstance(number, str) else "",
        "ref": ref if isinstance(ref, str) else "",
        "status": item["status"],
        "effective_date": effective_date,
        "reason": reason,
    }


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _is_day(value: Any) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and bool(datetime.date.fromisoformat(value))
    except ValueError:
        return False


def _is_month(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 7 and _is_day(value + "-01")


def _parse_event(body: bytes) -> dict[str, str]:
    data = _json_object(body)
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        raise BadRequest("invalid_event", f"type must be one of {', '.join(EVENT_TYPES)}.")
    if not _is_day(data.get("date")):
        raise BadRequest("invalid_event", "date must be YYYY-MM-DD.")
    event = {"type": kind, "date": data["date"]}
    if kind == "death":
        if data.get("cause") not in DEATH_CAUSES:
            raise BadRequest("invalid_event", f"cause must be one of {', '.join(DEATH_CAUSES)}.")
        event["cause"] = data["cause"]
    else:
        reason = data.get("reason")
        if not isinstance(reason, str) or not reason:
            raise BadRequest("invalid_event", "reason is required for an end.")
        event["reason"] = reason
    return event


def _parse_payment(body: bytes) -> dict[str, Any]:
    data = _json_object(body)
    reference, amount, items = data.get("reference"), data.get("amount_idr"), data.get("items")
    if not isinstance(reference, str) or not reference:
        raise BadRequest("invalid_payment", "reference is required.")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise BadRequest("invalid_payment", "amount_idr must be a whole number of rupiah.")
    if not isinstance(data.get("paid_at"), str):
        raise BadRequest("invalid_payment", "paid_at is required.")
    if not isinstance(items, list) or not items:
        raise BadRequest("invalid_payment", "items must be a non-empty list.")
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("participant_number"), str):
            raise BadRequest("invalid_payment", f"items[{index}] needs a participant_number.")
        if not (_is_month(item.get("period_from")) and _is_month(item.get("period_to"))):
            raise BadRequest("invalid_payment", f"items[{index}] periods must be YYYY-MM.")
        parsed.append(
            {"participant_number": item["participant_number"], "period_from": item["period_from"],
             "period_to": item["period_to"]}
        )  # fmt: skip
    return {"reference": reference, "paid_at": data["paid_at"], "amount_idr": amount, "items": parsed}
