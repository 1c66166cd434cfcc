"""The budget year's background work (in-process without REDIS_URL). Thin: the services decide."""

from __future__ import annotations

from celery import shared_task

from enrolment.funding.renewals import run


# acks_late: a renewal is resumable and safe to run twice (enrolment.funding.renewals), so a
# worker lost mid-job hands it to another instead of dropping it.
@shared_task(name="enrolment.funding.renew", acks_late=True, reject_on_worker_lost=True)
def renewal_run(job_id: str) -> None:
    run.renewal_job_run(job_id=job_id)


@shared_task(name="enrolment.funding.resume_renewals")
def renewals_resume() -> None:
    run.renewals_resume()


@shared_task(name="enrolment.funding.send_registry_messages")
def registry_messages_send() -> None:
    from enrolment.funding.outbox import registry_messages_send as send
    from enrolment.registry.services import registry_configured

    if registry_configured():
        send()


@shared_task(name="enrolment.funding.lapse")
def enrolments_lapse() -> None:
    from enrolment.funding.payments import enrolments_lapse as lapse

    lapse()
