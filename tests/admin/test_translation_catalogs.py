"""The translation catalogs (integrations/locale/): every string the hub marks is translated
(no empty and no fuzzy entry), each translation keeps its placeholders, and the committed .mo
files say exactly what their .po files say (`make compilemessages` after every edit).
Pure file checks: no gettext tools needed."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "integrations" / "locale"
LANGUAGES = ("zh_Hans", "ja")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
KEYWORD = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (\".*\")$")


def entries(po: Path) -> list[dict]:
    """A .po file's entries: msgctxt, msgid, msgid_plural, msgstr ({index: text}), flags."""
    found, entry, key = [], None, None
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                found.append(entry)
            entry, key = None, None
            continue
        entry = entry or {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if key[0] == "msgstr":
                entry["msgstr"][key[1]] += ast.literal_eval(line)
            else:
                entry[key[0]] += ast.literal_eval(line)
        else:
            name, index, text = KEYWORD.match(line).groups()
            key = (name, int(index or 0))
            if name == "msgstr":
                entry["msgstr"][key[1]] = ast.literal_eval(text)
            else:
                entry[name] = ast.literal_eval(text)
    return found


def messages(language: str) -> list[dict]:
    return [e for e in entries(LOCALE / language / "LC_MESSAGES" / "django.po") if e["msgid"]]


def expected_catalog(language: str) -> dict:
    """What the .mo compiled from the .po holds, keyed as Python's gettext keys it."""
    catalog = {}
    for entry in messages(language):
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if "msgid_plural" in entry:
            for index, text in entry["msgstr"].items():
                catalog[(msgid, index)] = text
        else:
            catalog[msgid] = entry["msgstr"][0]
    return catalog


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    found = messages(language)
    assert len(found) > 300
    untranslated = [e["msgid"] for e in found if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in found if "fuzzy" in e["flags"]]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    for entry in messages(language):
        wanted = sorted(set(PLACEHOLDER.findall(entry["msgid"])))
        for text in entry["msgstr"].values():
            assert sorted(set(PLACEHOLDER.findall(text))) == wanted, entry["msgid"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_mo_file_is_compiled_from_the_po_file_as_it_is(language):
    mo = LOCALE / language / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as compiled:
        catalog = dict(gettext.GNUTranslations(compiled)._catalog)
    catalog.pop("", None)  # the header
    assert catalog == expected_catalog(language), "run `make compilemessages`"
