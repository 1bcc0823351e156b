"""Hot queries compiled to SQL once per process, then run with new values each time.

Why: during a 500-review fan-out Django spent about a third of the workers' Python time
turning the same querysets into the same SQL and back into instances (py-spy --gil, see
docs/benchmarks.md). Reading one run with its app took 1.48 ms of CPU, of which executing
the SQL was 0.07 ms and compiling it 0.68 ms.

A query is an ordinary queryset built from named values. It is compiled on first use, with
stand-in values (twice, see `_marker`); each call puts the real values in their places and
builds the instances as Django's ModelIterable does (select_related included), or the rows
as ValuesListIterable does, through Django's cursor, so query capture, execute wrappers and
the debug log see it as usual.

Only on PostgreSQL, the database the hub is tuned for; elsewhere the queryset is built and
run as usual. Tests run both paths and compare them (tests/hub/test_compiled_queries.py).
The module leans on the compiler's `select`/`klass_info` and `get_related_populators`, as
ModelIterable does; Django is pinned in requirements.txt, and those tests fail first if an
upgrade changes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError


# Stand-ins for the values while compiling: ints a small positive integer field can hold
# (Django drops or empties a comparison with a value outside a field's range), datetimes in
# 1901, strings no one stores. Each query is compiled with two sets of them; the parameters
# that differ between the two are the values' places, so a constant that happens to equal a
# marker is never taken for one. A string a lookup rewrites (`__contains` sends '%value%')
# matches no marker, so that query is refused rather than run with the value unwrapped.
def _marker(kind: type, number: int, variant: int) -> Any:
    if kind is int:
        return 30000 + 2 * number + variant
    if kind is datetime:
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=2 * number + variant)
    if kind is str:
        return f"compiled-query-stand-in-{number}-{variant}"
    raise TypeError(f"compiled queries take int, str and datetime values, not {kind.__name__}")


@dataclass(frozen=True)
class _Plan:
    alias: str
    sql: str
    params: tuple
    slots: tuple[tuple[str, tuple[int, ...]], ...]  # name -> positions in params
    locks: bool  # SELECT ... FOR UPDATE: needs a transaction
    converters: list[tuple[int, tuple[list, Any]]]
    # For first(): the instance to build from the row; None for rows().
    model: type[Model] | None = None
    init_list: list[str] = field(default_factory=list)
    model_slice: slice = field(default_factory=lambda: slice(0))
    populators: list = field(default_factory=list)


class CompiledQuery:
    """`build(**values)` -> a queryset; `first(**values)` runs it for its first instance,
    `rows(**values)` runs a `values_list()` queryset for all its rows (tuples).

    `values` names each value and its type (int, str or datetime), for example
    `CompiledQuery(lambda run_id: Run.objects.filter(pk=run_id), run_id=int)`. Every value
    must reach the SQL as a parameter, and `build` must not branch on them: either mistake
    is refused (ValueError) when the query is first compiled."""

    def __init__(self, build: Callable[..., QuerySet], **values: type) -> None:
        for kind in values.values():
            _marker(kind, 0, 0)  # checked here rather than at first use
        self._build = build
        self._kinds = values
        self._plans: dict[tuple[str, bool], _Plan] = {}
        self._lock = threading.Lock()
        # The database the queryset goes to, learnt from the first one built: building a
        # queryset is itself a good part of the cost saved, so a plan's call builds none.
        # (The hub has one database; a router that chose by the values would defeat this.)
        self._alias: str | None = None

    def first(self, **values: Any) -> Model | None:
        plan, queryset = self._ready(values, one=True)
        if plan is None:
            return queryset.first()
        row = self._execute(plan, values, all_rows=False)
        return None if row is None else _instance(plan, list(row), connections[plan.alias])

    def rows(self, **values: Any) -> list[tuple]:
        plan, queryset = self._ready(values, one=False)
        if plan is None:
            return list(queryset)
        connection = connections[plan.alias]
        return [
            tuple(_converted(plan, list(row), connection)) for row in self._execute(plan, values)
        ]

    def _ready(self, values: dict, one: bool) -> tuple[_Plan | None, QuerySet | None]:
        """The plan for this database, or (None, the queryset) where queries are not compiled."""
        if set(values) != set(self._kinds):
            raise TypeError(f"expected the values {sorted(self._kinds)}, got {sorted(values)}")
        plan = self._plans.get((self._alias, one)) if self._alias is not None else None
        if plan is not None:
            return plan, None
        queryset = self._build(**values)
        wanted = ModelIterable if one else ValuesListIterable
        if queryset._iterable_class is not wanted:
            use = "a queryset of instances" if one else "a values_list() queryset of tuples"
            raise ValueError(f"{'first' if one else 'rows'}() needs {use}")
        if connections[queryset.db].vendor != "postgresql":
            return None, queryset
        plan = self._plan(queryset.db, one)
        self._alias = queryset.db
        return plan, None

    @staticmethod
    def _execute(plan: _Plan, values: dict, all_rows: bool = True) -> Any:
        connection = connections[plan.alias]
        if plan.locks and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(plan.params)
        for name, positions in plan.slots:
            for position in positions:
                params[position] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            return cursor.fetchall() if all_rows else cursor.fetchone()

    def _plan(self, alias: str, one: bool) -> _Plan:
        with self._lock:
            if (alias, one) in self._plans:
                return self._plans[(alias, one)]
            compiler, sql, params, markers = self._compiled(alias, 0, one)
            _, other_sql, other_params, other_markers = self._compiled(alias, 1, one)
            if other_sql != sql or len(other_params) != len(params):
                raise ValueError("the query's SQL must not depend on its values")
            names = {value: name for name, value in markers.items()}
            other_names = {value: name for name, value in other_markers.items()}
            slots: dict[str, list[int]] = {}
            for position, (mine, other) in enumerate(zip(params, other_params, strict=True)):
                if mine == other:
                    continue
                name = names.get(mine)
                if name is None or other_names.get(other) != name:
                    raise ValueError(f"parameter {position} of the query is not one of its values")
                slots.setdefault(name, []).append(position)
            for name in self._kinds:
                if name not in slots:
                    raise ValueError(f"the value {name!r} does not reach the query's SQL")
            if compiler.query.annotation_select or compiler.query.extra_select:
                raise ValueError("compiled queries do not carry annotations or extra columns")
            selected = [column[0] for column in compiler.select[: compiler.col_count]]
            plan = _Plan(
                alias=alias,
                sql=sql,
                params=tuple(params),
                slots=tuple((name, tuple(positions)) for name, positions in slots.items()),
                locks=bool(compiler.query.select_for_update),
                converters=list(compiler.get_converters(selected).items()),
                **(self._builder(compiler, alias) if one else {}),
            )
            self._plans[(alias, one)] = plan
            return plan

    @staticmethod
    def _builder(compiler, alias: str) -> dict:
        """How first() makes its instance from a row, as ModelIterable does."""
        klass_info = compiler.klass_info
        fields = klass_info["select_fields"]
        model_slice = slice(fields[0], fields[-1] + 1)
        return {
            "model": klass_info["model"],
            "init_list": [column[0].target.attname for column in compiler.select[model_slice]],
            "model_slice": model_slice,
            "populators": get_related_populators(klass_info, compiler.select, alias),
        }

    def _compiled(self, alias: str, variant: int, one: bool):
        markers = {
            name: _marker(kind, number, variant)
            for number, (name, kind) in enumerate(self._kinds.items())
        }
        queryset = self._build(**markers)
        if one:
            if not queryset.ordered:
                queryset = queryset.order_by("pk")  # as QuerySet.first() does
            queryset = queryset[:1]
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        return compiler, sql, list(params), markers


def _converted(plan: _Plan, row: list, connection) -> list:
    """`row` with Django's converters applied (in place: a row is a fresh list)."""
    for position, (converters, expression) in plan.converters:
        value = row[position]
        for converter in converters:
            value = converter(value, expression, connection)
        row[position] = value
    return row


def _instance(plan: _Plan, row: list, connection) -> Model:
    row = _converted(plan, row, connection)
    obj = plan.model.from_db(plan.alias, plan.init_list, row[plan.model_slice])
    for populator in plan.populators:
        populator.populate(row, obj)
    return obj
