"""The shape figures issue 17 reports: long functions, imports inside functions, largest modules.

Product code only: migrations and tests are left out.

Run: .venv/bin/python scripts/shape_figures.py [--list]
(`duplicates --most 200 | grep -v migrations` gives the duplicate pairs.)
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "dealership",
    "appointments",
    "reception",
    "workorders",
    "workshop",
    "delivery",
    "followup",
    "reports",
    "demo",
)


def source_files():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and "tests" not in path.parts:
                yield path


def main(show_list: bool) -> None:
    long_functions, inner_imports, sizes = [], [], []
    for path in source_files():
        text = path.read_text()
        sizes.append((len(text.splitlines()), path.relative_to(ROOT)))
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long_functions.append(
                        (length, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
                    )
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        inner_imports.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    sizes.sort(reverse=True)
    print(f"functions over 80 lines: {len(long_functions)}")
    print(f"imports inside functions: {len(inner_imports)}")
    print(f"largest module: {sizes[0][1]} ({sizes[0][0]} lines)")
    if show_list:
        for length, name in sorted(long_functions, reverse=True):
            print(f"  {length:4d} {name}")
        for where in inner_imports:
            print(f"  import {where}")
        for lines, name in sizes[:10]:
            print(f"  {lines:5d} {name}")


if __name__ == "__main__":
    main("--list" in sys.argv)
