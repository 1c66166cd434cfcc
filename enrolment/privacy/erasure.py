"""What else an erasure must remove, held by apps that sit above enrolment.

Dependencies point one way (panel, openrosa → enrolment → workers), yet an erasure has to reach
data those apps hold on the person: the files ODK Collect sent with a registration, for one.
`ErasureStep` is that one question; each app that holds such data answers it with a provider,
and the setting `PRIVACY_ERASURE_STEPS` lists the providers (dotted paths). Nothing answers by
default: with the setting missing, or naming something that cannot be imported or is not an
`ErasureStep`, `manage.py check` fails (enrolment.E001) and so does every erasure, rather than
silently leaving a person's files behind. An app in INSTALLED_APPS that declares
`erasure_step` on its AppConfig must be listed, for the same reason.
"""

from __future__ import annotations

import functools
from typing import Protocol, runtime_checkable

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.providers import provider
from villages.audit import Actor


@runtime_checkable
class ErasureStep(Protocol):
    """One app's part of an erasure."""

    name: str  # what the erase answer and the audit context call it (e.g. "odk_attachments")

    def erase(self, actor: Actor, worker_id: str) -> int:
        """Removes what the app holds on the person, inside the erasure's transaction and under
        the worker's lock; answers how many items went. Idempotent (0 the second time)."""
        ...


@functools.cache
def erasure_steps() -> tuple[ErasureStep, ...]:
    """The providers the setting lists (classes, instantiated once, or instances), in order.

    Raises ImproperlyConfigured when the setting is missing, an entry cannot be imported or is
    not an ErasureStep, or an installed app's declared step is not listed."""
    paths = getattr(settings, "PRIVACY_ERASURE_STEPS", None)
    if paths is None:
        raise ImproperlyConfigured(
            "PRIVACY_ERASURE_STEPS is not set: list the ErasureStep providers (an empty list when no app "
            "above enrolment holds personal data)."
        )
    steps = [
        provider("PRIVACY_ERASURE_STEPS", path, ErasureStep, not_one="is not an ErasureStep (name and erase())")
        for path in paths
    ]
    declared = {config.label: str(getattr(config, "erasure_step", "")) for config in apps.get_app_configs()}
    missing = sorted(f"{label} ({path})" for label, path in declared.items() if path and path not in paths)
    if missing:
        raise ImproperlyConfigured(
            f"PRIVACY_ERASURE_STEPS does not list the erasure step of: {', '.join(missing)}; "
            "an erasure would leave their data on the person behind."
        )
    return tuple(steps)
