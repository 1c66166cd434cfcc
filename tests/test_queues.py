from celery import current_app

from config.celery import app as celery_app
from config.queues import QUEUE_NAMES, queue_for


def test_every_task_is_routed_to_its_workload_queue():
    celery_app.loader.import_default_modules()  # every app's tasks.py, as a worker does
    names = sorted(name for name in celery_app.tasks if not name.startswith("celery."))
    routed = {name: celery_app.amqp.router.route({}, name)["queue"].name for name in names}
    assert routed == {
        "enrolment.funding.lapse": "maintenance",
        "enrolment.funding.renew": "imports",
        "enrolment.funding.resume_renewals": "imports",
        "enrolment.funding.send_registry_messages": "registry",
        "enrolment.imports.run": "imports",
        "enrolment.imports.sweep": "imports",
        "enrolment.registry.reconcile": "registry",
        "enrolment.registry.send_batch": "registry",
        "enrolment.registry.sync": "registry",
        "enrolment.reports.compact": "reports",
        "enrolment.sync.prune_snapshots": "maintenance",
        "openrosa.prune_pending_attachments": "maintenance",
        **{name: "maintenance" for name in names if name.startswith("villages.")},
    }
    assert {queue.name for queue in celery_app.conf.task_queues} == set(QUEUE_NAMES)


def test_an_unknown_task_goes_to_maintenance_and_a_prefix_applies_to_every_queue():
    assert queue_for("something.else") == "maintenance"
    before = current_app.conf.get("queue_prefix", "")
    current_app.conf.queue_prefix = "site-a."
    try:
        assert celery_app.amqp.router.route({}, "enrolment.registry.sync")["queue"].name == "site-a.registry"
    finally:
        current_app.conf.queue_prefix = before
