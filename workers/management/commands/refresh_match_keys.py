"""`manage.py refresh_match_keys`: (re)writes every live worker's match keys and pairs.

For rows the save path never wrote keys for (data loaded before the finder existed, or by a
COPY) and after a change of the normalisation or the key digest (workers/duplicates/). In
batches of --batch workers by id, each its own transaction; idempotent (a second run changes
nothing), resumable with --after <id>. Dismissed and merged pairs keep their status.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from workers.duplicates.finder import find_matches, person_of, store_matches
from workers.models import Worker


class Command(BaseCommand):
    help = "Rewrites the duplicate finder's match keys and pairs of every live worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--after", default="", help="Resume after this worker id.")

    def handle(self, *args: Any, batch: int, after: str, **options: Any) -> None:
        done = 0
        while True:
            with transaction.atomic():
                rows = list(Worker.objects.filter(id__gt=after, deleted_at__isnull=True).order_by("id")[:batch])
                if not rows:
                    break
                matches = find_matches([person_of(w) for w in rows], stored_ids=[w.id for w in rows])
                store_matches(rows, matches)
            done += len(rows)
            after = rows[-1].id
            self.stdout.write(f"{done} workers, up to {after}")
        self.stdout.write(self.style.SUCCESS(f"match keys refreshed for {done} workers"))
