"""The central registry as the sync sees it: one small interface (`RegistryClient`) and its HTTP
adapter (`HttpRegistryClient`) for the protocol of REGISTRY.md.

Another registry (a partner gateway, another country's scheme) is another adapter. Everything a
registry answers is untrusted input: answers are read up to a size limit, parsed, and checked
field by field before the sync believes any of it; an answer that fails the checks is a
(transient) `RegistryAnswerInvalid`, never a crash and never a half-believed result.

Errors say whether trying again later can help (`transient`): 5xx, timeouts, refused or dropped
connections, 429 and unreadable answers can; 400, 401/403, 404 and 409 cannot, the same request
would get the same answer.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from config import requestid

OUTCOMES = frozenset({"accepted", "duplicate", "rejected"})
CHANGE_STATUSES = frozenset({"active", "inactive", "deceased", "ended"})
PARTICIPANT_NUMBER = re.compile(r"[0-9]{11}")  # KPJ
REF = re.compile(r"[A-Za-z0-9_-]{1,64}")  # our enrolment ids
ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CURSOR = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII, no spaces
# Generous for 1,000 results (~150 kB) or a page of changes; anything bigger is not an answer.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
MAX_REASON_CHARS = 1000
MAX_MESSAGE_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- what the registry says ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordResult:
    ref: str
    outcome: str  # accepted | duplicate | rejected
    participant_number: str  # 11 digits for accepted and duplicate, "" for rejected
    reason_code: str
    reason: str


@dataclass(frozen=True)
class BatchAnswer:
    batch_id: str
    completed: bool  # False: still processing (202, or a poll before it is done)
    results: tuple[RecordResult, ...] = ()
    registry_ms: float | None = None  # the registry's own time (Server-Timing), when it says


@dataclass(frozen=True)
class StatusChange:
    participant_number: str
    ref: str
    status: str  # active | inactive | deceased | ended
    effective_date: dt.date
    reason: str


@dataclass(frozen=True)
class InvalidChange:
    """A change that failed the checks: recorded and skipped, so one bad item cannot stall the feed."""

    problem: str
    raw: str


@dataclass(frozen=True)
class ChangesPage:
    changes: tuple[StatusChange | InvalidChange, ...]
    next_cursor: str
    has_more: bool


# --- what can go wrong -----------------------------------------------------------------------------


class RegistryError(Exception):
    """A call that did not give a usable answer. `transient`: trying again later may succeed."""

    transient = True

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.details = dict(details or {})
        self.retry_after = retry_after


class RegistryUnavailable(RegistryError):
    """5xx, timeouts, refused or dropped connections. The batch may or may not have been processed."""


class RegistryRateLimited(RegistryError):
    """429: wait at least `retry_after` seconds."""


class RegistryAnswerInvalid(RegistryError):
    """The answer failed the checks (not JSON, wrong shape, results that do not match the batch)."""


class RegistryRefused(RegistryError):
    """400, 404, 409 and other 4xx: the same request would be refused again."""

    transient = False


class RegistryAuthFailed(RegistryRefused):
    """401/403: the credentials or the partner id are wrong. Nothing gets through until fixed."""


class BatchNotFound(RegistryRefused):
    """A poll for a batch the registry does not know: send it again (same key, same body)."""


# --- the interface ---------------------------------------------------------------------------------


class RegistryClient(Protocol):
    def submit_batch(self, *, batch_id: str, body: bytes, refs: Collection[str]) -> BatchAnswer:
        """POST the batch (`body` as is, `Idempotency-Key: batch_id`). `refs` are the records'
        refs: a completed answer must carry exactly one result for each."""
        ...

    def poll_batch(self, *, batch_id: str, refs: Collection[str]) -> BatchAnswer: ...

    def changes(self, *, since: str, limit: int) -> ChangesPage:
        """One page of status changes after cursor `since` ('' = from the start)."""
        ...

    def post_message(self, *, path: str, key: str, body: bytes) -> str:
        """POST one message (a participant event, a payment: REGISTRY.md, "Additions") under
        `Idempotency-Key: key`; returns the answer's `status` (`ended`, `recorded`)."""
        ...


# --- the HTTP adapter ------------------------------------------------------------------------------


class HttpRegistryClient:
    """REGISTRY.md over HTTP. Thread-safe (one connection pool); never retries by itself: the
    caller decides, from the error, whether and when to try again."""

    def __init__(
        self,
        *,
        base_url: str,
        partner_id: str,
        api_key: str,
        connect_timeout: float,
        read_timeout: float,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._max_answer_bytes = max_answer_bytes
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "X-Partner-Id": partner_id,
                "Accept": "application/json",
                "User-Agent": "village-enrolment-registry-client/1",
            },
            # Writing 1,000 records is bounded by the read timeout too; the pool wait by connect.
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            # Never resend on our own: a resend must be the caller's decision (same key, same body).
            transport=transport or httpx.HTTPTransport(retries=0),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def submit_batch(self, *, batch_id: str, body: bytes, refs: Collection[str]) -> BatchAnswer:
        status, headers, data = self._call(
            "POST",
            "/v1/batches",
            content=body,
            headers={"Idempotency-Key": batch_id, "Content-Type": "application/json"},
        )
        if status not in (200, 202):
            raise RegistryAnswerInvalid("unexpected_status", f"HTTP {status} to a batch", http_status=status)
        return parse_batch_answer(_json(data, status), batch_id=batch_id, refs=refs, headers=headers)

    def poll_batch(self, *, batch_id: str, refs: Collection[str]) -> BatchAnswer:
        try:
            status, headers, data = self._call("GET", f"/v1/batches/{batch_id}")
        except RegistryRefused as refused:
            if refused.http_status == 404:
                raise BatchNotFound(refused.code, refused.message, http_status=404, details=refused.details) from None
            raise
        if status != 200:
            raise RegistryAnswerInvalid("unexpected_status", f"HTTP {status} to a poll", http_status=status)
        return parse_batch_answer(_json(data, status), batch_id=batch_id, refs=refs, headers=headers)

    def changes(self, *, since: str, limit: int) -> ChangesPage:
        params: dict[str, str | int] = {"limit": limit}
        if since:
            params["since"] = since
        status, _headers, data = self._call("GET", "/v1/participants/changes", params=params)
        if status != 200:
            raise RegistryAnswerInvalid("unexpected_status", f"HTTP {status} to the changes feed", http_status=status)
        return parse_changes_page(_json(data, status), since=since)

    def post_message(self, *, path: str, key: str, body: bytes) -> str:
        status, _headers, data = self._call(
            "POST", path, content=body, headers={"Idempotency-Key": key, "Content-Type": "application/json"}
        )
        answer = _json(data, status)
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
            raise RegistryAnswerInvalid("unexpected_answer", f"HTTP {status} without a status", http_status=status)
        return clean_text(answer["status"], 40)

    def _call(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> tuple[int, httpx.Headers, bytes]:
        """One exchange; 2xx comes back, everything else is raised as the matching RegistryError."""
        # The request id of the request or task this call is made for, so the registry's logs and
        # ours can be matched (config.requestid).
        headers = {**(headers or {}), requestid.HEADER: requestid.current() or requestid.new_id()}
        try:
            with self._http.stream(method, path, content=content, headers=headers, params=params) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_answer_bytes:
                        raise RegistryAnswerInvalid(
                            "answer_too_large",
                            f"more than {self._max_answer_bytes} bytes",
                            http_status=response.status_code,
                        )
                status, answer_headers = response.status_code, response.headers
        except httpx.TimeoutException as timeout:
            raise RegistryUnavailable("timeout", f"{type(timeout).__name__}: no answer in time") from None
        except httpx.RemoteProtocolError:
            # The registry closed the connection without an answer: maybe after processing.
            raise RegistryUnavailable("answer_lost", "the connection closed without an answer") from None
        except httpx.TransportError as failure:
            raise RegistryUnavailable("connection_failed", type(failure).__name__) from None
        if 200 <= status < 300:
            return status, answer_headers, bytes(body)
        code, message, details = _error_envelope(bytes(body), answer_headers)
        if status == 429:
            raise RegistryRateLimited(
                code or "rate_limited",
                message or "too many requests",
                http_status=429,
                details=details,
                retry_after=parse_retry_after(answer_headers.get("Retry-After")),
            )
        if status >= 500 or status == 408:
            raise RegistryUnavailable(code or f"http_{status}", message or "the registry failed", http_status=status)
        if status in (401, 403):
            raise RegistryAuthFailed(code or f"http_{status}", message or "credentials refused", http_status=status)
        if 400 <= status < 500:
            raise RegistryRefused(code or f"http_{status}", message or "refused", http_status=status, details=details)
        raise RegistryAnswerInvalid("unexpected_status", f"HTTP {status}", http_status=status)


# --- reading answers ---------------------------------------------------------------------------------


def clean_text(value: Any, limit: int) -> str:
    """A string from the registry, safe to store and show: control characters out, length capped."""
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value).strip()[:limit]


def _json(data: bytes, status: int) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryAnswerInvalid("answer_not_json", "the answer is not JSON", http_status=status) from None


def _error_envelope(data: bytes, headers: httpx.Headers) -> tuple[str, str, dict[str, Any]]:
    """(code, message, details) of a `{"error": {...}}` answer; empty when it is not one (a 502 page)."""
    if "json" not in (headers.get("Content-Type") or ""):
        return "", "", {}
    try:
        error = json.loads(data).get("error")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return "", "", {}
    if not isinstance(error, dict):
        return "", "", {}
    code = error.get("code")
    details = error.get("details")
    return (
        code if isinstance(code, str) and ERROR_CODE.fullmatch(code) else "",
        clean_text(error.get("message"), MAX_MESSAGE_CHARS),
        _scalar_details(details) if isinstance(details, dict) else {},
    )


def _scalar_details(details: Mapping[Any, Any]) -> dict[str, Any]:
    """Only short scalar values of an error's details (e.g. `index`, `field`): what an operator needs."""
    kept: dict[str, Any] = {}
    for key, value in list(details.items())[:20]:
        if not isinstance(key, str) or not ERROR_CODE.fullmatch(key):
            continue
        if value is None or isinstance(value, bool) or (isinstance(value, int) and abs(value) < 2**53):
            kept[key] = value
        elif isinstance(value, str):
            kept[key] = clean_text(value, 200)
    return kept


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**7))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _server_timing(headers: httpx.Headers | None) -> float | None:
    timing = headers.get("Server-Timing") if headers is not None else None
    match = re.search(r"process;dur=([0-9]+(?:\.[0-9]+)?)", timing or "")
    return float(match.group(1)) if match else None


def parse_batch_answer(
    data: Any, *, batch_id: str, refs: Collection[str], headers: httpx.Headers | None = None
) -> BatchAnswer:
    """A batch answer, checked against the batch it answers. Raises RegistryAnswerInvalid."""

    def invalid(problem: str) -> RegistryAnswerInvalid:
        return RegistryAnswerInvalid("answer_invalid", problem)

    if not isinstance(data, dict):
        raise invalid("the answer is not an object")
    if data.get("batch_id") != batch_id:
        raise invalid("the answer is for another batch")
    status = data.get("status")
    if status == "processing":
        return BatchAnswer(batch_id=batch_id, completed=False, registry_ms=_server_timing(headers))
    if status != "completed":
        raise invalid("unknown batch status")
    results = data.get("results")
    if not isinstance(results, list):
        raise invalid("results is not a list")
    expected = set(refs)
    if len(results) != len(expected):
        raise invalid(f"{len(results)} results for {len(expected)} records")
    parsed: dict[str, RecordResult] = {}
    for result in results:
        if not isinstance(result, dict):
            raise invalid("a result is not an object")
        ref, outcome, number = result.get("ref"), result.get("outcome"), result.get("participant_number")
        if not isinstance(ref, str) or ref not in expected:
            raise invalid("a result names a record that was not sent")
        if ref in parsed:
            raise invalid("two results for one record")
        if outcome not in OUTCOMES:
            raise invalid("unknown outcome")
        if outcome == "rejected":
            number = ""
        elif not isinstance(number, str) or not PARTICIPANT_NUMBER.fullmatch(number):
            raise invalid("a registered record without an 11-digit participant number")
        reason_code = result.get("reason_code")
        parsed[ref] = RecordResult(
            ref=ref,
            outcome=outcome,
            participant_number=number,
            reason_code=reason_code if isinstance(reason_code, str) and ERROR_CODE.fullmatch(reason_code) else "",
            reason=clean_text(result.get("reason"), MAX_REASON_CHARS),
        )
    return BatchAnswer(
        batch_id=batch_id, completed=True, results=tuple(parsed.values()), registry_ms=_server_timing(headers)
    )


def parse_changes_page(data: Any, *, since: str) -> ChangesPage:
    """A page of the changes feed. A malformed page raises RegistryAnswerInvalid; a malformed
    change inside a well-formed page becomes an InvalidChange."""
    if not isinstance(data, dict):
        raise RegistryAnswerInvalid("answer_invalid", "the page is not an object")
    items, cursor, has_more = data.get("changes"), data.get("next_cursor"), data.get("has_more")
    if not isinstance(items, list) or len(items) > 10_000:
        raise RegistryAnswerInvalid("answer_invalid", "changes is not a list")
    if not isinstance(cursor, str) or not CURSOR.fullmatch(cursor):
        raise RegistryAnswerInvalid("answer_invalid", "next_cursor is missing or malformed")
    if not isinstance(has_more, bool):
        raise RegistryAnswerInvalid("answer_invalid", "has_more is not a boolean")
    return ChangesPage(changes=tuple(_change(item) for item in items), next_cursor=cursor, has_more=has_more)


def _change(item: Any) -> StatusChange | InvalidChange:
    raw = json.dumps(item, ensure_ascii=False, default=str)[:500]
    if not isinstance(item, dict):
        return InvalidChange("not an object", raw)
    number, ref, status = item.get("participant_number"), item.get("ref"), item.get("status")
    if not isinstance(number, str) or not PARTICIPANT_NUMBER.fullmatch(number):
        return InvalidChange("participant_number is not 11 digits", raw)
    if ref not in (None, "") and (not isinstance(ref, str) or not REF.fullmatch(ref)):
        return InvalidChange("ref is malformed", raw)
    if status not in CHANGE_STATUSES:
        return InvalidChange("unknown status", raw)
    effective_date = item.get("effective_date")
    try:
        if not isinstance(effective_date, str) or not DATE.fullmatch(effective_date):
            raise ValueError(effective_date)
        effective = dt.date.fromisoformat(effective_date)
    except ValueError:
        return InvalidChange("effective_date is not YYYY-MM-DD", raw)
    return StatusChange(
        participant_number=number,
        ref=ref or "",
        status=status,
        effective_date=effective,
        reason=clean_text(item.get("reason"), MAX_REASON_CHARS),
    )
