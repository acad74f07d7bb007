"""Simplified Chinese is complete: every catalogue matches the code and is fully translated."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
APPS = [
    "dealership",
    "appointments",
    "reception",
    "workorders",
    "workshop",
    "delivery",
    "followup",
    "reports",
    "demo",
    "portal",
]
CATALOGUES = [BASE / app / "locale/zh_Hans/LC_MESSAGES/django.po" for app in APPS] + [
    BASE / "locale/zh_Hans/LC_MESSAGES/django.po"
]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(BASE)))
def test_catalogue_is_fully_translated(path):
    catalogue = polib.pofile(str(path))
    missing = [e.msgid for e in catalogue.untranslated_entries() if not e.obsolete]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert missing == [] and fuzzy == []


def _msgids(path: Path) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in polib.pofile(str(path)) if not e.obsolete}


@pytest.mark.parametrize("app", [*APPS, "."])
def test_catalogue_has_every_string_of_the_code(app, tmp_path):
    """Re-extract the strings into a scratch copy and compare with the committed catalogue."""
    source = BASE / app
    copy = tmp_path / "src"
    if app == ".":
        copy.mkdir()
        shutil.copytree(BASE / "templates", copy / "templates")
    else:
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (copy / "locale").mkdir(exist_ok=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dealership.settings", "PYTHONPATH": str(BASE)}
    subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "-v0",
        ],
        cwd=copy,
        env=env,
        check=True,
    )
    extracted = _msgids(copy / "locale/zh_Hans/LC_MESSAGES/django.po")
    committed = _msgids(source / "locale/zh_Hans/LC_MESSAGES/django.po")
    assert extracted - committed == set(), "run `make messages` and translate the new strings"


def test_one_string_has_one_translation_across_catalogues():
    """Django merges the apps' catalogues and the first app wins: a string translated two ways in
    two apps shows the wrong words in one of them. Same meaning: same words; different meaning:
    a context (pgettext / `{% translate ... context ... %}`)."""
    seen: dict[tuple[str | None, str], dict[str, str]] = {}
    for path in CATALOGUES:
        for entry in polib.pofile(str(path)):
            if entry.obsolete or not entry.msgid:
                continue
            translation = entry.msgstr or repr(sorted(entry.msgstr_plural.items()))
            found = seen.setdefault((entry.msgctxt, entry.msgid), {})
            found[str(path.relative_to(BASE))] = translation
    clashes = {key: found for key, found in seen.items() if len(set(found.values())) > 1}
    assert clashes == {}
