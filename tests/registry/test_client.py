"""The registry client against the stub over real HTTP, and its checks of untrusted answers."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import socket

import httpx
import pytest

from enrolment.registry.client import (
    BatchNotFound,
    HttpRegistryClient,
    InvalidChange,
    RecordResult,
    RegistryAnswerInvalid,
    RegistryAuthFailed,
    RegistryRateLimited,
    RegistryRefused,
    RegistryUnavailable,
    StatusChange,
    clean_text,
    parse_batch_answer,
    parse_changes_page,
    parse_retry_after,
)
from tests.registry.conftest import REGISTRY_KEY, REGISTRY_PARTNER, stub_faults
from tests.registry_stub.helpers import batch, record


def client_for(url: str, *, key: str = REGISTRY_KEY, partner: str = REGISTRY_PARTNER, **kwargs) -> HttpRegistryClient:
    options = {"connect_timeout": 2.0, "read_timeout": 2.0, **kwargs}
    return HttpRegistryClient(base_url=url, partner_id=partner, api_key=key, **options)


def body(batch_id: str, *numbers: int, **overrides) -> bytes:
    return json.dumps(batch(batch_id, [record(n, **overrides) for n in numbers])).encode()


def refs(*numbers: int) -> list[str]:
    return [f"enrolment-{n}" for n in numbers]


def registered(control: httpx.Client) -> dict[str, int]:
    return control.get("/stats").json()["registrations_per_ref"]


def test_a_batch_is_answered_with_one_checked_result_per_record(stub, control):
    client = client_for(stub.url)

    answer = client.submit_batch(batch_id="b-1", body=body("b-1", 1, 2), refs=refs(1, 2))

    assert answer.completed is True
    assert answer.batch_id == "b-1"
    numbers = [result.participant_number for result in answer.results]
    assert [result.ref for result in answer.results] == refs(1, 2)
    assert {result.outcome for result in answer.results} == {"accepted"}
    assert all(len(number) == 11 and number.isdigit() for number in numbers)
    assert answer.registry_ms is not None
    assert answer.registry_ms >= 0
    assert registered(control) == {"enrolment-1": 1, "enrolment-2": 1}


def test_credentials_travel_in_the_headers_and_wrong_ones_are_terminal(stub, control):
    with pytest.raises(RegistryAuthFailed) as wrong_key:
        client_for(stub.url, key="not-the-key").submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))
    with pytest.raises(RegistryAuthFailed) as wrong_partner:
        client_for(stub.url, partner="someone-else").submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))

    assert (wrong_key.value.http_status, wrong_key.value.code, wrong_key.value.transient) == (
        401,
        "unauthenticated",
        False,
    )
    assert (wrong_partner.value.http_status, wrong_partner.value.code) == (403, "partner_not_allowed")
    assert registered(control) == {}


def test_202_then_poll_until_completed(stub, control):
    stub_faults(control, async_202=1, async_polls=1)
    client = client_for(stub.url)

    first = client.submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))
    still = client.poll_batch(batch_id="b-1", refs=refs(1))
    done = client.poll_batch(batch_id="b-1", refs=refs(1))

    assert (first.completed, still.completed, done.completed) == (False, False, True)
    assert [result.outcome for result in done.results] == ["accepted"]


def test_429_is_transient_and_carries_retry_after(stub, control):
    stub_faults(control, rate_limit_429=1, retry_after_seconds=7)

    with pytest.raises(RegistryRateLimited) as limited:
        client_for(stub.url).submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))

    assert (limited.value.http_status, limited.value.retry_after, limited.value.transient) == (429, 7.0, True)
    assert registered(control) == {}


def test_5xx_answers_are_transient_even_an_html_502(stub, control):
    stub_faults(control, error_5xx=1, seed=5)
    client = client_for(stub.url)
    errors = []
    for n in range(12):
        with pytest.raises(RegistryUnavailable) as failed:
            client.submit_batch(batch_id=f"b-{n}", body=body(f"b-{n}", n), refs=refs(n))
        errors.append(failed.value)

    assert {error.http_status for error in errors} == {500, 502, 503}
    assert all(error.transient for error in errors)
    # The 502 is a gateway's HTML page: no code to read from it.
    assert {error.code for error in errors if error.http_status == 502} == {"http_502"}
    assert {error.code for error in errors if error.http_status == 500} == {"registry_unavailable"}


def test_a_timeout_is_transient_and_a_resend_gets_the_first_answer(stub, control):
    stub_faults(control, timeout=1, timeout_seconds=2)
    client = client_for(stub.url, read_timeout=0.3)

    with pytest.raises(RegistryUnavailable) as timed_out:
        client.submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))
    stub_faults(control)
    again = client.submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))

    assert (timed_out.value.code, timed_out.value.transient) == ("timeout", True)
    # The registry had processed it: the resend is answered with the stored first answer.
    assert [result.outcome for result in again.results] == ["accepted"]
    assert registered(control) == {"enrolment-1": 1}
    assert control.get("/stats").json()["batches"] == {"processed": 1, "replayed": 1, "conflicts": 0}


def test_a_dropped_answer_is_transient_and_the_resend_is_safe(stub, control):
    stub_faults(control, drop_after_process=1)
    client = client_for(stub.url)

    with pytest.raises(RegistryUnavailable) as lost:
        client.submit_batch(batch_id="b-1", body=body("b-1", 1, 2), refs=refs(1, 2))
    stub_faults(control)
    again = client.submit_batch(batch_id="b-1", body=body("b-1", 1, 2), refs=refs(1, 2))

    assert lost.value.code == "answer_lost"
    assert [result.outcome for result in again.results] == ["accepted", "accepted"]
    assert registered(control) == {"enrolment-1": 1, "enrolment-2": 1}


def test_a_malformed_batch_is_terminal_and_names_the_record(stub, control):
    bad = json.dumps(batch("b-1", [record(1), record(2, monthly_income=None)])).encode()

    with pytest.raises(RegistryRefused) as refused:
        client_for(stub.url).submit_batch(batch_id="b-1", body=bad, refs=refs(1, 2))

    assert (refused.value.http_status, refused.value.code, refused.value.transient) == (400, "invalid_record", False)
    assert refused.value.details == {"index": 1, "field": "monthly_income"}
    assert registered(control) == {}


def test_the_same_key_with_another_body_is_a_terminal_409(stub):
    client = client_for(stub.url)
    client.submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))

    with pytest.raises(RegistryRefused) as conflict:
        client.submit_batch(batch_id="b-1", body=body("b-1", 2), refs=refs(2))

    assert (conflict.value.http_status, conflict.value.code) == (409, "idempotency_key_reused")


def test_polling_an_unknown_batch_says_so(stub):
    with pytest.raises(BatchNotFound) as unknown:
        client_for(stub.url).poll_batch(batch_id="never-sent", refs=refs(1))

    assert (unknown.value.http_status, unknown.value.code) == (404, "batch_not_found")


def test_nobody_listening_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there

    with pytest.raises(RegistryUnavailable) as refused:
        client_for(f"http://127.0.0.1:{port}").submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))

    assert (refused.value.code, refused.value.transient) == ("connection_failed", True)


def test_an_answer_bigger_than_the_limit_is_not_read(stub):
    client = client_for(stub.url, max_answer_bytes=100)

    with pytest.raises(RegistryAnswerInvalid) as too_large:
        client.submit_batch(batch_id="b-1", body=body("b-1", 1, 2, 3), refs=refs(1, 2, 3))

    assert (too_large.value.code, too_large.value.transient) == ("answer_too_large", True)


def test_a_200_that_is_not_json_is_an_invalid_answer():
    # A registry that answers garbage cannot be run here; a transport that does stands in for it.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    client = client_for("http://registry.invalid", transport=transport)

    with pytest.raises(RegistryAnswerInvalid) as garbage:
        client.submit_batch(batch_id="b-1", body=body("b-1", 1), refs=refs(1))

    assert (garbage.value.code, garbage.value.transient) == ("answer_not_json", True)


def test_the_changes_feed_pages_from_a_cursor(stub, control):
    client = client_for(stub.url)
    answer = client.submit_batch(batch_id="b-1", body=body("b-1", 1, 2), refs=refs(1, 2))
    numbers = [result.participant_number for result in answer.results]
    control.post(
        "/changes",
        json=[
            {"ref": "enrolment-1", "status": "deceased", "effective_date": "2026-12-02", "reason": "JKM\x07 claim"},
            {"ref": "enrolment-2", "status": "inactive", "effective_date": "2026-12-03"},
        ],
    )

    first = client.changes(since="", limit=1)
    second = client.changes(since=first.next_cursor, limit=1)
    end = client.changes(since=second.next_cursor, limit=1)

    assert first.changes == (StatusChange(numbers[0], "enrolment-1", "deceased", dt.date(2026, 12, 2), "JKM claim"),)
    assert second.changes == (StatusChange(numbers[1], "enrolment-2", "inactive", dt.date(2026, 12, 3), ""),)
    assert (first.has_more, second.has_more, end.has_more) == (True, False, False)
    assert end.changes == ()
    assert end.next_cursor == second.next_cursor


# --- untrusted answers -------------------------------------------------------------------------------

GOOD = {"ref": "r1", "outcome": "accepted", "participant_number": "90000000001", "reason_code": None, "reason": None}


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([GOOD], "the answer is not an object"),
        ({"batch_id": "other", "status": "completed", "results": [GOOD]}, "the answer is for another batch"),
        ({"batch_id": "b", "status": "done", "results": [GOOD]}, "unknown batch status"),
        ({"batch_id": "b", "status": "completed", "results": {"r1": GOOD}}, "results is not a list"),
        ({"batch_id": "b", "status": "completed", "results": []}, "0 results for 1 records"),
        ({"batch_id": "b", "status": "completed", "results": [GOOD, GOOD]}, "2 results for 1 records"),
        ({"batch_id": "b", "status": "completed", "results": ["r1"]}, "a result is not an object"),
        (
            {"batch_id": "b", "status": "completed", "results": [{**GOOD, "ref": "r9"}]},
            "a result names a record that was not sent",
        ),
        ({"batch_id": "b", "status": "completed", "results": [{**GOOD, "outcome": "ok"}]}, "unknown outcome"),
        (
            {"batch_id": "b", "status": "completed", "results": [{**GOOD, "participant_number": "9000000001"}]},
            "a registered record without an 11-digit participant number",
        ),
        (
            {
                "batch_id": "b",
                "status": "completed",
                "results": [{**GOOD, "outcome": "duplicate", "participant_number": 9}],
            },
            "a registered record without an 11-digit participant number",
        ),
    ],
)
def test_batch_answers_that_fail_the_checks_are_refused(answer, problem):
    with pytest.raises(RegistryAnswerInvalid) as invalid:
        parse_batch_answer(answer, batch_id="b", refs=["r1"])

    assert invalid.value.message == problem
    assert invalid.value.transient is True


def test_two_results_for_one_record_are_refused():
    answer = {"batch_id": "b", "status": "completed", "results": [GOOD, GOOD]}

    with pytest.raises(RegistryAnswerInvalid, match="two results for one record"):
        parse_batch_answer(answer, batch_id="b", refs=["r1", "r2"])


def test_texts_from_the_registry_are_cleaned_and_capped():
    rejected = {
        "ref": "r1",
        "outcome": "rejected",
        "participant_number": "90000000001",  # ignored on a rejection
        "reason_code": "nik not found; DROP",  # not a code: dropped
        "reason": " NIK\x00 tidak\x1b ditemukan " + "x" * 2000,
    }

    answer = parse_batch_answer(
        {"batch_id": "b", "status": "completed", "results": [rejected]}, batch_id="b", refs=["r1"]
    )

    (result,) = answer.results
    assert result == RecordResult("r1", "rejected", "", "", "NIK tidak ditemukan " + "x" * 980)
    assert clean_text(42, 10) == ""


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ([], "the page is not an object"),
        ({"changes": {}, "next_cursor": "1", "has_more": False}, "changes is not a list"),
        ({"changes": [], "next_cursor": "", "has_more": False}, "next_cursor is missing or malformed"),
        ({"changes": [], "next_cursor": "a b", "has_more": False}, "next_cursor is missing or malformed"),
        ({"changes": [], "next_cursor": "1", "has_more": "no"}, "has_more is not a boolean"),
    ],
)
def test_change_pages_that_fail_the_checks_are_refused(page, problem):
    with pytest.raises(RegistryAnswerInvalid) as invalid:
        parse_changes_page(page, since="")

    assert invalid.value.message == problem


def test_a_bad_change_inside_a_good_page_is_kept_apart():
    good = {"participant_number": "90000000001", "ref": "e1", "status": "ended", "effective_date": "2026-12-01"}
    page = parse_changes_page(
        {
            "changes": [
                good,
                {**good, "participant_number": "1"},
                {**good, "ref": "e 1"},
                {**good, "status": "gone"},
                {**good, "effective_date": "20261201"},
                "ended",
            ],
            "next_cursor": "6",
            "has_more": False,
        },
        since="",
    )

    assert page.changes[0] == StatusChange("90000000001", "e1", "ended", dt.date(2026, 12, 1), "")
    assert [change.problem for change in page.changes[1:]] == [
        "participant_number is not 11 digits",
        "ref is malformed",
        "unknown status",
        "effective_date is not YYYY-MM-DD",
        "not an object",
    ]
    assert all(isinstance(change, InvalidChange) for change in page.changes[1:])


def test_retry_after_in_seconds_or_as_a_date():
    in_a_minute = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60), usegmt=True)

    assert parse_retry_after("7") == 7.0
    assert 55 <= parse_retry_after(in_a_minute) <= 60
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-3") is None
