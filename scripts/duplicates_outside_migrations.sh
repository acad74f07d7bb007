#!/usr/bin/env bash
# Count `duplicates` pairs in the product's code, migrations left out (issue 17's figure).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && git ls-files -co --exclude-standard | grep -v '/migrations/' | grep -v '^\.venv/' | while read -r f; do [ -f "$f" ] && mkdir -p "$tmp/$(dirname "$f")" && cp "$f" "$tmp/$f"; done)
cd "$tmp" && duplicates --most "${1:-8}" --seconds 120
