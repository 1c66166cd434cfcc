"""`field__any={...}`: membership in a long list, sent as one array parameter on PostgreSQL.

Django's `__in` binds every value as its own parameter; with psycopg's client-side binding each is
then quoted in Python, and PostgreSQL parses a statement with a thousand literals. For the bulk
paths' lookups of 1,000 ids or NIKs that costs several times what `= ANY(%s)` with the list as
one array costs (docs/measurements.md), and PostgreSQL plans both the same way (an index scan per value, or a hashed
filter: the array arrives as a constant, which PostgreSQL hashes). Registered on every field and
on foreign keys (imported by villages.apps); other databases, subqueries and multi-column keys
get a plain IN.

Pass a set: Django walks a list or tuple value element by element (looking for expressions to
resolve) before any lookup sees it.

Not JSON unpacked in SQL (`ARRAY(SELECT jsonb_array_elements_text(%s))`), though that is cheaper to
send: the array is then a parameter computed at run time, which PostgreSQL neither sees when
planning nor hashes, so `NOT id = ANY(...)` over thousands of rows became a hundred times slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any as AnyType

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Field
from django.db.models.expressions import ColPairs
from django.db.models.fields.related import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler


class _ArrayParameter:
    """`= ANY(%s::<type>[])` on PostgreSQL for a list of plain values; IN otherwise."""

    def get_prep_lookup(self) -> AnyType:
        lookup: AnyType = self
        rhs = lookup.rhs
        # Text against a text column: preparing each value (Field.get_prep_value → to_python) hands
        # every string back unchanged, one call per value. Anything else is prepared as IN does.
        if (
            isinstance(rhs, (list, tuple, set, frozenset))
            and _text_column(lookup.lhs.output_field)
            and all(type(value) is str for value in rhs)
        ):
            return list(rhs)
        return super().get_prep_lookup()  # type: ignore[misc]  # a mixin: In (or Exact) comes after it

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[AnyType, ...]]:
        lookup: AnyType = self
        if not lookup.rhs_is_direct_value() or isinstance(lookup.lhs, ColPairs):
            return lookup.as_sql(compiler, connection)  # a subquery, or a multi-column key: IN
        lhs, lhs_params = lookup.process_lhs(compiler, connection)
        field = lookup.lhs.output_field
        values = [v if type(v) is str else field.get_db_prep_value(v, connection, prepared=True) for v in lookup.rhs]
        values = [v for v in values if v is not None]
        if not values:
            raise EmptyResultSet  # as IN does: no query at all
        parameter = text_array(values) if all(type(v) is str for v in values) else values
        # The cast names the element type (and reads the text of text_array).
        return f"{lhs} = ANY(%s::{field.db_type(connection)}[])", (*lhs_params, parameter)


def text_array(values: Iterable[str]) -> str:
    """Strings as the text of a PostgreSQL array (`{"a","b"}`), to pass as one parameter cast to
    an array type. psycopg would adapt a list itself, but element by element in Python, several
    times slower. Every element is quoted, so "NULL" stays a string."""
    values = list(values)
    if '"' not in (probe := "".join(values)) and "\\" not in probe:  # ids, NIKs, codes: nothing to escape
        return '{"' + '","'.join(values) + '"}' if values else "{}"
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _text_column(field: Field) -> bool:
    target = getattr(field, "target_field", field)  # a foreign key compares its target's values
    return isinstance(target, CharField)


@Field.register_lookup
class Any(_ArrayParameter, In):
    lookup_name = "any"


@ForeignObject.register_lookup
class RelatedAny(_ArrayParameter, RelatedIn):
    """`worker_id__any=[...]`: foreign keys keep Django's own lookups apart from other fields'."""

    lookup_name = "any"
