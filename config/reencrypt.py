"""Re-encrypting every stored token under the first FIELD_ENCRYPTION_KEYS key (`manage.py
reencrypt`), so an old key can be dropped.

Online: batches of rows in short transactions of their own, while the service keeps writing.
A row is rewritten only if it still holds the tokens read (compare and swap in the UPDATE's
WHERE): a concurrent write, which always encrypts under the first key, wins and is never
overwritten with an older value. Resumable and idempotent: only rows with a token under another
key are selected (the key id leads every token), so a run killed halfway, or run twice, just
finds less to do. On PostgreSQL the rewrite does not move the offline-sync stamp (the
`pii.reencrypt` setting, read by the stamping trigger: villages 0004): the values are the same,
devices have nothing to fetch again and pushes see no conflict.

Files sealed with `pii.encrypt_bytes` (an import's upload and invalid rows) are not rows: an app that keeps
such files names `EncryptedFiles` providers on its AppConfig (`encrypted_files`, a dotted
path or a tuple of them), and `reencrypt` re-seals them after the tables (`--check` counts them too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Model

from config import pii
from config.providers import provider


@dataclass
class TableProgress:
    label: str
    rows: int = 0  # rows rewritten
    skipped: int = 0  # rows a concurrent write changed first (already under the first key)


def encrypted_columns() -> Iterator[tuple[type[Model], list[str]]]:
    """Every concrete model with encrypted fields, and their columns."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = [f.column for f in model._meta.concrete_fields if isinstance(f, pii.EncryptedField) and f.column]
        if columns:
            yield model, columns


def _stale_condition(columns: list[str], current: str) -> tuple[str, list[str]]:
    """SQL: some column holds a token of another key ('' and NULL are nothing to do)."""
    prefix = current + pii.SEPARATOR
    parts = [f'("{c}" <> \'\' AND substr("{c}", 1, {len(prefix)}) <> %s)' for c in columns]
    return "(" + " OR ".join(parts) + ")", [prefix] * len(columns)


def reencrypt_model(
    model: type[Model],
    columns: list[str],
    *,
    batch_size: int = 500,
    pause: float = 0.0,
    on_batch: Callable[[TableProgress], None] | None = None,
) -> TableProgress:
    table = model._meta.db_table
    pk = model._meta.pk.column
    progress = TableProgress(label=model._meta.label)
    current = pii.keyring().current_id
    stale, stale_params = _stale_condition(columns, current)
    selected = ", ".join(f'"{c}"' for c in columns)
    assignments = ", ".join(f'"{c}" = %s' for c in columns)
    same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"
    unchanged = " AND ".join(f'"{c}" {same} %s' for c in columns)
    last = None
    while True:
        with transaction.atomic():
            after = f'"{pk}" > %s AND ' if last is not None else ""
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SET LOCAL pii.reencrypt = 'on'")
                cursor.execute(
                    f'SELECT "{pk}", {selected} FROM "{table}" WHERE {after}{stale}'  # noqa: S608 (model metadata)
                    f' ORDER BY "{pk}" LIMIT {int(batch_size)}',
                    [*([last] if last is not None else []), *stale_params],
                )
                rows = cursor.fetchall()
                if not rows:
                    return progress
                last = rows[-1][0]
                for key, *tokens in rows:
                    fresh = [pii.reencrypt_token(t) if t else t for t in tokens]
                    cursor.execute(
                        f'UPDATE "{table}" SET {assignments} WHERE "{pk}" = %s AND {unchanged}',  # noqa: S608
                        [*fresh, key, *tokens],
                    )
                    if cursor.rowcount == 1:
                        progress.rows += 1
                    else:
                        progress.skipped += 1
        if on_batch is not None:
            on_batch(progress)
        if pause:
            time.sleep(pause)


def stale_rows() -> dict[str, int]:
    """Rows per model still holding a token of another key than the first."""
    current = pii.keyring().current_id
    counts: dict[str, int] = {}
    for model, columns in encrypted_columns():
        stale, params = _stale_condition(columns, current)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{model._meta.db_table}" WHERE {stale}', params)  # noqa: S608
            counts[model._meta.label] = int(cursor.fetchone()[0])
    for files in encrypted_files():
        counts[files.label] = files.stale()
    return counts


@runtime_checkable
class EncryptedFiles(Protocol):
    """One app's files sealed with `pii.encrypt_bytes`, for `reencrypt`."""

    label: str

    def stale(self) -> int:
        """How many are under another key than the first."""
        ...

    def reencrypt(self) -> tuple[int, int]:
        """Re-seals them under the first key, safely against concurrent writers and a kill;
        answers (re-sealed, changed meanwhile)."""
        ...


def encrypted_files() -> list[EncryptedFiles]:
    """The providers the installed apps declare (`encrypted_files` on their AppConfig)."""
    paths: list[str] = []
    for config in apps.get_app_configs():
        declared = getattr(config, "encrypted_files", ())  # one dotted path, or several
        paths.extend([declared] if isinstance(declared, str) else declared)
    return [
        provider("encrypted_files", path, EncryptedFiles, not_one="is not an EncryptedFiles (label, stale, reencrypt)")
        for path in paths
        if path
    ]
