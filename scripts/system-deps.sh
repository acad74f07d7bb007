#!/usr/bin/env bash
# Debian packages the product and its tests need. Installs only what is missing.
#   fonts-wqy-microhei   Chinese glyphs in PDFs
#   libharfbuzz-subset0  fast font subsetting in WeasyPrint (~40 ms instead of ~1.5 s a CJK page)
#   libpango-1.0-0 ...   WeasyPrint's text layout
#   chromium             browser tests (Playwright drives /usr/bin/chromium)
#   gettext              compiles the translation catalogues
#   poppler-utils        pdftoppm / pdftotext for looking at PDFs
set -euo pipefail
wanted=(fonts-wqy-microhei libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 chromium gettext poppler-utils)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
