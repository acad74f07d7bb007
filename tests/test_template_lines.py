"""Template markup stays readable: no line over 120 characters."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 120


def _templates():
    for path in sorted(ROOT.glob("*/templates/**/*.html")) + sorted(
        ROOT.glob("templates/**/*.html")
    ):
        yield path.relative_to(ROOT).as_posix(), path


def test_there_are_templates_to_check():
    assert sum(1 for _ in _templates()) > 50


def test_no_template_line_is_over_120_characters():
    long_lines = [
        f"{name}:{number} ({len(line)} characters)"
        for name, path in _templates()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > LIMIT
    ]
    assert long_lines == []
