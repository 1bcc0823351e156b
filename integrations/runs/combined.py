"""Two writes in one round trip: an INSERT and an UPDATE, or two linked INSERTs, as one
statement.

A delivery's attempt row and the delivery's own UPDATE always go together (the part is
sent: record it and move on). Each was its own autocommitted statement, so its own round
trip and its own commit waiting for the WAL flush; in a 200-recipient digest that is 200
more of each. On PostgreSQL a data-modifying CTE (`WITH inserted AS (INSERT …) UPDATE …`)
does both in one statement and one transaction; other databases (SQLite has no
data-modifying CTEs) get the two statements, in the same order, inside one transaction.
A webhook's run and event rows go the same way (`insert_linked`), the event pointing at the
run: one statement instead of BEGIN, two INSERTs and COMMIT. The SQL is Django's own,
compiled from the model and the queryset, so field conversions, defaults and table names
stay the ORM's.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.db import connections, models, router, transaction
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery, UpdateQuery


def insert_and_update(row: models.Model, queryset: models.QuerySet, **values) -> int:
    """INSERT `row` (a new, unsaved model instance) and `queryset.update(**values)` as one
    statement where the database allows; returns the number of rows updated. The row is
    inserted even when the UPDATE matches nothing, as the two statements would do."""
    alias = queryset.db
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias):
            row.save(force_insert=True, using=alias)
            return queryset.update(**values)
    insert_sql, insert_params = _insert_sql(row, alias)
    update = queryset.query.chain(UpdateQuery)
    update.add_update_values(values)
    update_sql, update_params = update.get_compiler(alias).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH inserted AS ({insert_sql}) {update_sql}",
            [*insert_params, *update_params],
        )
        return cursor.rowcount


# An INSERT's SQL by its model, database, columns and raw sub-selects: the text depends on
# nothing else, and compiling it was a third of a webhook's INSERT time in the web server
# (py-spy --gil, docs/benchmarks.md). Its parameters are worked out each time, as the
# compiler works them out.
_INSERT_SHAPES: dict[tuple, str] = {}


def _insert_sql(row: models.Model, alias: str) -> tuple[str, tuple]:
    meta = row._meta
    fields = [
        f
        for f in meta.local_concrete_fields
        if not getattr(f, "generated", False) and not (f.primary_key and row.pk is None)
    ]
    connection = connections[alias]
    shape, params = [], []
    for field in fields:
        value = field.pre_save(row, add=True)  # as the compiler does (auto_now_add and the like)
        if isinstance(value, RawSQL) and not value.params:
            shape.append(value.sql)  # insert_linked's link to the parent row
        elif hasattr(value, "resolve_expression") or hasattr(field, "get_placeholder"):
            return _compiled_insert(row, fields, alias)  # any other expression: Django's way
        else:
            shape.append(None)
            params.append(field.get_db_prep_save(value, connection=connection))
    key = (type(row), alias, tuple(field.attname for field in fields), tuple(shape))
    sql = _INSERT_SHAPES.get(key)
    if sql is None:
        sql, compiled_params = _compiled_insert(row, fields, alias)
        if len(compiled_params) != len(params):
            return sql, compiled_params  # a shape this cache does not know: never cached
        _INSERT_SHAPES[key] = sql
        return sql, compiled_params
    return sql, tuple(params)


def _compiled_insert(row: models.Model, fields: list, alias: str) -> tuple[str, tuple]:
    query = InsertQuery(type(row))
    query.insert_values(fields, [row])
    [(sql, params)] = query.get_compiler(alias).as_sql()
    return sql, tuple(params)


def insert_linked(parent: models.Model, child: models.Model, link: str) -> None:
    """INSERT `parent` and `child` (new, unsaved instances), `child.<link>` pointing at the
    new parent row, as one statement where the database allows (one round trip, one
    transaction, no BEGIN and COMMIT of their own); both come back with their primary keys.
    Raises IntegrityError, with neither row stored and both instances as they came, if
    either breaks a constraint."""
    alias = router.db_for_write(type(parent))
    field = child._meta.get_field(link)
    try:
        if connections[alias].vendor == "postgresql":
            parent_id, child_id = _insert_both(parent, child, field, alias)
        else:
            with transaction.atomic(using=alias):
                parent.save(force_insert=True, using=alias)
                setattr(child, link, parent)
                child.save(force_insert=True, using=alias)
            return
    except Exception:
        parent.pk = child.pk = None
        parent._state.adding = child._state.adding = True
        setattr(child, field.attname, None)
        raise
    for row, pk in ((parent, parent_id), (child, child_id)):
        row.pk = pk
        row._state.adding, row._state.db = False, alias
    setattr(child, link, parent)


def _insert_both(
    parent: models.Model, child: models.Model, field: models.Field, alias: str
) -> tuple[int, int]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    parent_pk, child_pk = quote(parent._meta.pk.column), quote(child._meta.pk.column)
    parent_sql, parent_params = _insert_sql(parent, alias)
    setattr(child, field.attname, RawSQL(f"(SELECT {parent_pk} FROM parent_row)", ()))
    child_sql, child_params = _insert_sql(child, alias)
    # One statement is its own transaction; inside a caller's, a savepoint keeps a broken
    # constraint from aborting the whole of it.
    savepoint = transaction.atomic(using=alias) if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(
            f"WITH parent_row AS ({parent_sql} RETURNING {parent_pk}) "
            f"{child_sql} RETURNING {child_pk}, {quote(field.column)}",
            [*parent_params, *child_params],
        )
        child_id, parent_id = cursor.fetchone()
    return parent_id, child_id
