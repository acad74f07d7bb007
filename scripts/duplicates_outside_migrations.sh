#!/usr/bin/env bash
# Count `duplicates` pairs with migrations left out (issue 17's figure).
# Usage: scripts/duplicates_outside_migrations.sh [ROWS] [--product]   (--product: tests left out too)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-8}
skip='/migrations/'
[ "${2:-}" = "--product" ] && skip='/migrations/|(^|/)tests/|(^|/)conftest\.py$'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && git ls-files -co --exclude-standard | grep -Ev "$skip" | grep -v '^\.venv/' \
  | while read -r f; do [ -f "$f" ] && mkdir -p "$tmp/$(dirname "$f")" && cp "$f" "$tmp/$f"; done)
cd "$tmp" && duplicates --most "$rows" --seconds 120
