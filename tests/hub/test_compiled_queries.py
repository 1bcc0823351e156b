"""Compiled hot queries (integrations/compiled.py) give what the ORM gives, in one statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.compiled import CompiledQuery
from integrations.forges import intake
from integrations.gitlab.intake import GITLAB
from integrations.models import Delivery, Recipient, ReviewEndpoint, Run, RunSlot
from integrations.runs import delivery, engine, slots

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="queries are compiled on PostgreSQL only"
)


def fields_of(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if k != "_state"}


def same(compiled, orm) -> None:
    assert type(compiled) is type(orm)
    assert fields_of(compiled) == fields_of(orm)
    assert compiled._state.db == orm._state.db and not compiled._state.adding
    cached = {name for name in orm._state.fields_cache}
    assert set(compiled._state.fields_cache) == cached
    for name in cached:
        mine, theirs = compiled._state.fields_cache[name], orm._state.fields_cache[name]
        assert (mine is None) == (theirs is None), name
        if theirs is not None:
            same(mine, theirs)


def test_a_run_with_its_app_is_read_as_the_orm_reads_it(make_run, dify_app):
    run = make_run(inputs={"query": "héllo", "n": [1, 2]}, context={"read": {"a": 1}})
    orm = Run.objects.filter(pk=run.pk).select_related("app").first()
    with CaptureQueriesContext(connection) as queries:
        compiled = engine._WITH_APP.first(run_id=run.pk)
    same(compiled, orm)
    assert compiled.app.api_key == dify_app.api_key  # decrypted, as the ORM does
    assert len(queries) == 1
    assert engine._WITH_APP.first(run_id=run.pk + 1000) is None


def test_the_claims_locking_reads_are_the_orms(make_run, dify_app):
    slots.ensure_slots(dify_app)
    older, newer = make_run(), make_run()
    Run.objects.filter(pk=newer.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    now = timezone.now()
    with transaction.atomic():
        slot = slots._FREE_SLOT.first(app_id=dify_app.pk, cap=dify_app.max_concurrent_runs, now=now)
        expected = (
            slots._free(dify_app, now).select_for_update(skip_locked=True).order_by("number")
        ).first()
        same(slot, expected)
        run = slots._OLDEST_ELIGIBLE.first(app_id=dify_app.pk, now=now)
        assert run.pk == older.pk  # the newer one waits out its backoff
        same(run, Run.objects.select_related("review_endpoint", "digest").get(pk=older.pk))
    # A cap of 0 leaves no free slot; a later `now` makes the newer run eligible too.
    with transaction.atomic():
        assert slots._FREE_SLOT.first(app_id=dify_app.pk, cap=0, now=now) is None
        Run.objects.filter(pk=older.pk).update(status=Run.Status.RUNNING)
        later = now + timedelta(hours=2)
        assert slots._OLDEST_ELIGIBLE.first(app_id=dify_app.pk, now=later).pk == newer.pk
        assert slots._OLDEST_ELIGIBLE.first(app_id=dify_app.pk, now=now) is None


def test_a_delivery_with_its_run_endpoint_and_recipient_is_the_orms(make_run, rocketchat):
    room = Recipient.objects.create(name="team", kind="rocketchat", webhook_url=rocketchat.url)
    run = make_run(status=Run.Status.DELIVERING, message={"text": "Sunny"})
    item = Delivery.objects.create(
        run=run, recipient=room, recipient_name="team", kind="rocketchat"
    )
    orm = Delivery.objects.select_related("run", "run__review_endpoint", "recipient").get(
        pk=item.pk
    )
    compiled = delivery._WITH_TARGET.first(delivery_id=item.pk)
    same(compiled, orm)
    assert compiled.run.review_endpoint is None and compiled.recipient.name == "team"


@on_postgresql
def test_the_sql_is_compiled_once_and_is_the_orms(make_run):
    run = make_run()
    query = CompiledQuery(lambda run_id: Run.objects.filter(pk=run_id), run_id=int)
    with CaptureQueriesContext(connection) as queries:
        assert query.first(run_id=run.pk).pk == run.pk
        assert query.first(run_id=run.pk + 1) is None
    with CaptureQueriesContext(connection) as orm:
        Run.objects.filter(pk=run.pk).first()
    assert queries[0]["sql"] == orm[0]["sql"]
    assert [q["sql"].replace(str(run.pk + 1), str(run.pk)) for q in queries[1:]] == [orm[0]["sql"]]
    assert len(query._plans) == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_is_refused(dify_app):
    query = CompiledQuery(
        lambda app_id: RunSlot.objects.select_for_update().filter(app_id=app_id), app_id=int
    )
    with transaction.atomic():
        assert query.first(app_id=dify_app.pk) is None
    assert connection.get_autocommit()
    # The plan exists now; outside a transaction it is refused as the ORM refuses it.
    with pytest.raises(TransactionManagementError, match="outside of a transaction"):
        query.first(app_id=dify_app.pk)
    with pytest.raises(TransactionManagementError, match="outside of a transaction"):
        RunSlot.objects.select_for_update().filter(app_id=dify_app.pk).first()


@on_postgresql
def test_a_value_that_does_not_reach_the_sql_is_a_mistake_found_at_once(db):
    fixed = CompiledQuery(lambda app_id: RunSlot.objects.filter(app_id=1), app_id=int)
    with pytest.raises(ValueError, match="'app_id' does not reach"):
        fixed.first(app_id=1)


def test_every_value_must_be_given(db):
    query = CompiledQuery(lambda run_id: Run.objects.filter(pk=run_id), run_id=int)
    with pytest.raises(TypeError, match="expected the values"):
        query.first()
    with pytest.raises(TypeError, match="int, str and datetime"):
        CompiledQuery(lambda name: Run.objects.filter(source=name), name=bytes)


@on_postgresql
def test_a_constant_equal_to_a_stand_in_is_kept_as_a_constant(dify_app):
    slots.ensure_slots(dify_app)
    # 30000 is the first int stand-in: the constant stays, the value takes its own place.
    query = CompiledQuery(
        lambda app_id: RunSlot.objects.filter(app_id=app_id, number__lt=30000).order_by("number"),
        app_id=int,
    )
    assert query.first(app_id=dify_app.pk).number == 0
    assert query.first(app_id=dify_app.pk + 1) is None


@on_postgresql
def test_a_query_whose_shape_depends_on_its_values_is_refused(db):
    def build(n):
        return Run.objects.filter(pk=n) if n % 2 else Run.objects.filter(attempts=n)

    with pytest.raises(ValueError, match="must not depend on its values"):
        CompiledQuery(build, n=int).first(n=1)


@on_postgresql
def test_a_query_with_annotations_is_refused(db):
    from django.db.models import Count

    counted = CompiledQuery(
        lambda run_id: Run.objects.filter(pk=run_id).annotate(n=Count("deliveries")), run_id=int
    )
    with pytest.raises(ValueError, match="annotations"):
        counted.first(run_id=1)


def review_endpoint(app, slug: str, forge: str, access_token: str = "token") -> ReviewEndpoint:
    return ReviewEndpoint.objects.create(
        name=slug,
        slug=slug,
        forge=forge,
        app=app,
        base_url="https://forge.example",
        access_token=access_token,
    )


def test_a_webhooks_endpoint_is_found_by_its_slug_and_forge_as_the_orm_finds_it(dify_app):
    gitlab = review_endpoint(dify_app, "team-mrs", "gitlab", access_token="glpat-s3cret")
    review_endpoint(dify_app, "team-prs", "github")
    compiled = intake.endpoint(GITLAB, "team-mrs")
    same(compiled, ReviewEndpoint.objects.get(pk=gitlab.pk))
    assert compiled.access_token == "glpat-s3cret"  # decrypted, as the ORM does
    assert intake.endpoint(GITLAB, "team-prs") is None  # another forge's slug
    assert intake.endpoint(GITLAB, "team-mrs'; --") is None


def test_a_changes_earlier_reviews_are_the_rows_the_orm_gives(make_run, dify_app):
    endpoint = review_endpoint(dify_app, "mrs", "gitlab")
    mr = {"review_endpoint": endpoint, "merge_request_key": "7!3"}
    queued = make_run(**mr, dedupe_key="gitlab:1:7!3:aaa")
    running = make_run(**mr, status=Run.Status.RUNNING, dedupe_key="gitlab:1:7!3:bbb")
    make_run(**mr, status=Run.Status.FAILED, dedupe_key="gitlab:1:7!3:ccc")  # neither
    done = make_run(status=Run.Status.SUCCEEDED, dedupe_key="gitlab:1:7!3:ddd")
    values = {"dedupe_key": "gitlab:1:7!3:ddd", "endpoint_id": endpoint.pk}
    rows = intake._EARLIER_REVIEWS.rows(**values, merge_request_key="7!3")
    orm = intake._EARLIER_REVIEWS._build(**values, merge_request_key="7!3")
    assert sorted(rows) == sorted(orm)
    assert sorted(rows) == sorted(
        (run.pk, run.status, run.dedupe_key, run.app_id) for run in (queued, running, done)
    )
    assert intake._EARLIER_REVIEWS.rows(**values, merge_request_key="7!4") == [
        (done.pk, "succeeded", "gitlab:1:7!3:ddd", dify_app.pk)
    ]


def test_first_and_rows_each_take_their_own_kind_of_queryset(db):
    instances = CompiledQuery(lambda run_id: Run.objects.filter(pk=run_id), run_id=int)
    with pytest.raises(ValueError, match="rows\\(\\) needs a values_list"):
        instances.rows(run_id=1)
    tuples = CompiledQuery(
        lambda run_id: Run.objects.filter(pk=run_id).values_list("pk"), run_id=int
    )
    with pytest.raises(ValueError, match="first\\(\\) needs a queryset of instances"):
        tuples.first(run_id=1)
    assert tuples.rows(run_id=1) == []


@on_postgresql
def test_a_string_a_lookup_rewrites_is_refused(db):
    # `__contains` sends '%value%': run as compiled, the value would lose its wildcards.
    contains = CompiledQuery(lambda name: Run.objects.filter(source__contains=name), name=str)
    with pytest.raises(ValueError, match="parameter 0 of the query is not one of its values"):
        contains.first(name="weather")
    exact = CompiledQuery(lambda name: Run.objects.filter(source__iexact=name), name=str)
    assert exact.first(name="weather") is None
