"""Writing many model rows in one statement, fast, on PostgreSQL.

Django's bulk_create binds every value as its own parameter and, with psycopg's client-side
binding, quotes each one in Python: about a megabyte of SQL text for 1,000 workers.
bulk_update is worse (a CASE per row and field). Here inserts go through COPY (psycopg adapts the
values in C, a fraction of the time: docs/measurements.md) and updates travel as one JSON document that PostgreSQL
unpacks with jsonb_to_recordset (one statement, one parameter). Other databases (the embedded
SQLite mode) use the ORM. Triggers, constraints and defaults behave as for any INSERT or UPDATE;
a constraint violation raises IntegrityError as usual.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, JSONField, Model
from django.db.models.base import ModelState

from config.pii import EncryptedField

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Plan:
    """What writing rows of one model needs to know about its fields, worked out once per process:
    at 1,000 rows a request, asking each field again for each row (its default, whether it is
    auto_now, whether it is JSON) costs more than the COPY itself."""

    fields: list[Field]
    constants: dict[str, Any]  # attname → the default of a field whose default never changes
    factories: list[tuple[str, Field]]  # fields whose default is made afresh (list, dict, now)
    stamped: list[Field]  # auto_now / auto_now_add: set on insert, as Model.save() does
    computed: frozenset[str]  # attnames of fields recomputed on every save (blind indexes)
    encrypted: frozenset[str]  # attnames of encrypted fields: written as their tokens


_PLANS: dict[type[Model], _Plan] = {}
_EMPTY_JSON: dict[type, str] = {list: "[]", dict: "{}"}


def _plan(model: type[Model]) -> _Plan:
    plan = _PLANS.get(model)
    if plan is None:
        fields = list(model._meta.concrete_fields)
        # No default at all means None or "" (Field.get_default), the same every time.
        fixed = [f for f in fields if not f.has_default() and not f.has_db_default()]
        plan = _PLANS[model] = _Plan(
            fields=fields,
            constants={f.attname: f.get_default() for f in fixed},
            factories=[(f.attname, f) for f in fields if f not in fixed],
            stamped=[
                f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) or _computed(f)
            ],
            computed=frozenset(f.attname for f in fields if _computed(f)),
            encrypted=frozenset(f.attname for f in fields if isinstance(f, EncryptedField)),
        )
    return plan


def _computed(field: Field) -> bool:
    return bool(getattr(field, "computed_on_save", False))


def new_instance(model: type[M], values: dict[str, Any]) -> M:
    """`model(**values)` (values by attname, concrete fields only) for an instance about to be
    bulk-inserted, built without Model.__init__: at 1,000 instances per request, __init__ and the
    foreign-key descriptors it goes through cost more than the insert itself. Fields not in
    `values` get their defaults (callables called afresh). No pre_init/post_init signals are sent;
    the project uses none."""
    plan = _plan(model)
    instance = model.__new__(model)
    instance._state = ModelState()
    state = instance.__dict__
    state.update(plan.constants)
    for attname, f in plan.factories:
        if attname not in values:
            state[attname] = f.get_default()
    state.update(values)
    return instance


def concrete_field(model: type[Model], name: str) -> Field:
    """A model's own column by field name (never a reverse relation)."""
    found = model._meta.get_field(name)
    if not isinstance(found, Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return found


def _value(field: Field, obj: Model) -> Any:
    value = getattr(obj, field.attname)
    if isinstance(field, EncryptedField):
        return field.get_prep_value(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _record_types(fields: Sequence[Field]) -> str:
    return ", ".join(f'"{f.column}" {f.db_type(connection)}' for f in fields)


def _document(fields: Sequence[Field], objs: Sequence[Model]) -> str:
    return json.dumps(
        [{f.column: _value(f, obj) for f in fields} for obj in objs], separators=(",", ":"), ensure_ascii=False
    )


def insert_models(objs: Sequence[Model]) -> None:
    """INSERTs model instances of one model with their primary keys set (client ids)."""
    if not objs:
        return
    model = type(objs[0])
    plan = _plan(model)
    fields = [f for f in plan.fields if not (f.primary_key and getattr(objs[0], f.attname) is None)]
    for f in plan.stamped:
        for obj in objs:
            f.pre_save(obj, add=True)
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=500)
        return
    attnames = [f.attname for f in fields]
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
    encrypted = [(i, f) for i, f in enumerate(fields) if f.attname in plan.encrypted]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    # wrap_database_errors: COPY runs on the driver's cursor, and a constraint violation must still
    # surface as Django's IntegrityError.
    sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
    dumps = json.dumps
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            state = obj.__dict__
            row = [state[a] for a in attnames]
            for i in json_positions:  # JSON columns travel as their text; None stays SQL NULL
                value = row[i]
                if value is not None:
                    # Most are empty (no warnings, no errors): their text is known.
                    row[i] = (_EMPTY_JSON.get(type(value)) if not value else None) or dumps(value)
            for i, f in encrypted:  # personal data travels as its token (config/pii.py)
                row[i] = f.get_prep_value(row[i])
            copy.write_row(row)


def insert_rows(model: type[Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """INSERTs plain rows of one model: values for `attnames`, in that order (JSON fields as
    Python values); columns not named take their database defaults (an identity primary key).
    For append-only tables written in bulk and never read back in the same request (the audit
    log): no instance per row, which is most of what insert_models costs there."""
    by_attname = {f.attname: f for f in _plan(model).fields}
    fields = [by_attname[name] for name in attnames]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows])
        return
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
    encrypted = [(i, f) for i, f in enumerate(fields) if isinstance(f, EncryptedField)]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
    dumps = json.dumps
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for values in rows:
            row = list(values)
            for i in json_positions:
                value = row[i]
                if value is not None:
                    row[i] = (_EMPTY_JSON.get(type(value)) if not value else None) or dumps(value)
            for i, f in encrypted:
                row[i] = f.get_prep_value(row[i])
            copy.write_row(row)


def update_models(objs: Sequence[Model], field_names: Sequence[str]) -> None:
    """UPDATEs the named fields of model instances (of one model), matched by primary key."""
    if not objs:
        return
    model = type(objs[0])
    fields = [concrete_field(model, name) for name in field_names]
    computed = [f for f in fields if f.attname in _plan(model).computed]
    for obj in objs:
        for f in computed:
            f.pre_save(obj, add=False)
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, list(field_names), batch_size=500)
        return
    meta = model._meta
    pk = meta.pk
    assignments = ", ".join(f'"{f.column}" = r."{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{meta.db_table}" AS t SET {assignments}'  # noqa: S608 (model metadata, not input)
            f" FROM jsonb_to_recordset(%s::jsonb) AS r({_record_types([pk, *fields])})"
            f' WHERE t."{pk.column}" = r."{pk.column}"',
            [_document([pk, *fields], objs)],
        )
