"""A digest's language: `{{ weekday }}` and `{{ date }}` as the language writes them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integrations.digests import schedule
from integrations.digests.firing import fire, run_now
from integrations.runs import engine
from tests.digests.conftest import utc
from tests.fakes import dify as fd

# Wednesday 2026-12-02 08:00 in Shanghai.
SLOT = utc(2026, 12, 2, 0, 0)
SHANGHAI = "Asia/Shanghai"
TEMPLATE = "{{ weekday }} | {{ date }} | {{ date_iso }} | {{ time }}"
EXPECTED = {
    "en": "Wednesday | 2026-12-02 | 2026-12-02 | 08:00",
    "zh-hans": "星期三 | 2026年12月2日 | 2026-12-02 | 08:00",
    "ja": "水曜日 | 2026年12月2日 | 2026-12-02 | 08:00",
    "ko": "수요일 | 2026년 12월 2일 | 2026-12-02 | 08:00",
}


@pytest.mark.parametrize(("language", "expected"), EXPECTED.items())
def test_slot_context_writes_the_day_in_the_digest_language(language, expected):
    context = schedule.slot_context(SLOT, SHANGHAI, "Morning", language)
    assert " | ".join(context[n] for n in ("weekday", "date", "date_iso", "time")) == expected
    assert context["digest"] == "Morning"


def test_english_is_the_default_and_keeps_the_original_values():
    assert schedule.slot_context(SLOT, SHANGHAI, "Morning") == {
        "date": "2026-12-02",
        "weekday": "Wednesday",
        "time": "08:00",
        "digest": "Morning",
        "date_iso": "2026-12-02",
    }


def test_the_local_day_is_the_one_in_the_digest_zone():
    # 23:30 UTC on Tuesday is already Wednesday morning in Tokyo.
    context = schedule.slot_context(utc(2026, 12, 1, 23, 30), "Asia/Tokyo", "M", "ja")
    assert (context["weekday"], context["date"]) == ("水曜日", "2026年12月2日")


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "expected"), EXPECTED.items())
def test_a_fired_digest_sends_its_language_to_dify_and_in_its_title(
    make_digest, fake_dify, language, expected
):
    digest = make_digest(
        timezone=SHANGHAI, language=language, inputs={"query": TEMPLATE}, title=TEMPLATE
    )
    fake_dify.script("run", fd.success({"text": "晴れ"}))
    run = fire(digest, SLOT)
    assert run.inputs == {"query": expected}
    assert run.source.endswith("slot 2026-12-02 08:00 Asia/Shanghai, fired by beat")

    engine.execute(run.pk)

    (request,) = fake_dify.requests_to("/workflows/run")
    assert request.json["inputs"]["query"] == expected
    run.refresh_from_db()
    assert run.message["title"] == expected


@pytest.mark.django_db
def test_run_now_uses_the_language_too(make_digest):
    digest = make_digest(timezone=SHANGHAI, language="zh-hans", inputs={"query": TEMPLATE})
    run = run_now(digest, requested_by="admin", now=utc(2026, 12, 2, 1, 15))
    assert run.inputs == {"query": "星期三 | 2026年12月2日 | 2026-12-02 | 09:15"}


@pytest.mark.django_db
def test_an_unknown_language_is_refused_naming_the_choices(make_digest):
    with pytest.raises(ValidationError) as caught:
        make_digest(language="fr")
    assert caught.value.message_dict["language"] == [
        "'fr' is not a digest language; one of en (English), zh-hans (简体中文), ja (日本語), "
        "ko (한국어)."
    ]


@pytest.mark.django_db
def test_an_unknown_variable_is_refused_and_date_iso_is_known(make_digest):
    make_digest(inputs={"query": "{{ date_iso }}"}, language="ja")
    with pytest.raises(ValidationError) as caught:
        make_digest(name="other", inputs={"query": "{{ date_local }}"})
    (message,) = caught.value.message_dict["inputs"]
    assert message.startswith("Unknown variable(s) date_local; available:")
    assert "{{ date_iso }}" in message
