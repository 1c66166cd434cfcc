from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    name = "enrolment"
    verbose_name = "Enrolments"

    def ready(self) -> None:
        # Tell the workers app what it must know about enrolments (it may not import them).
        from enrolment import services
        from workers import hooks

        hooks.nik_locked = services.workers_with_registry_nik
        hooks.undeletable = services.workers_not_deletable
        hooks.before_delete = services.tombstone_enrolments_of
        hooks.village_changed = services.follow_worker_moves
