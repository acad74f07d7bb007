#!/usr/bin/env bash
# Fuzz the REST API with schemathesis against the running app (make fuzz).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/fuzzdb scripts/fuzz.sh [EXAMPLES] [SECONDS]
#
# Migrates and seeds (seed_demo) the PostgreSQL database, starts gunicorn on FUZZ_PORT
# (8110), logs in as FUZZ_USER (admin: every role's rights) with a DRF token, and runs
# schemathesis over /api/schema/: every operation, EXAMPLES cases each (30), at most
# SECONDS (600). Fails unless there are zero 5xx answers and zero schema violations
# (status codes, content types, headers and bodies as documented). Figures come from the
# server's own access log; reports land in $FUZZ_OUT (default $VAR_DIR/fuzz or var/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${FUZZ_PORT:-8110}"
EXAMPLES="${1:-${FUZZ_EXAMPLES:-30}}"
MAX_TIME="${2:-${FUZZ_MAX_TIME:-600}}"
FUZZ_USER="${FUZZ_USER:-admin}"
OUT="${FUZZ_OUT:-${VAR_DIR:-var}/fuzz}"
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database the fuzz run may fill}"
case "$DATABASE_URL" in
  postgres*) ;;
  *) echo "fuzz: DATABASE_URL must be PostgreSQL" >&2; exit 2 ;;
esac
export CELERY_TASK_ALWAYS_EAGER="${CELERY_TASK_ALWAYS_EAGER:-true}"
mkdir -p "$OUT"
rm -f "$OUT/access.log"

$BIN/python manage.py migrate --noinput -v0
if [ -z "${FUZZ_SKIP_SEED:-}" ]; then
  $BIN/python manage.py seed_demo >"$OUT/seed.log" 2>&1
fi
TOKEN=$($BIN/python manage.py shell -v 0 -c "
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
print(Token.objects.get_or_create(user=get_user_model().objects.get(username='$FUZZ_USER'))[0].key)
" | tail -n 1 | tr -d '[:space:]')

$BIN/gunicorn dealership.wsgi -b "127.0.0.1:$PORT" -w 2 --timeout 60 \
  --access-logfile "$OUT/access.log" --access-logformat '%(s)s %(m)s %(U)s' \
  --logger-class dealership.gunicorn_log.MaskingLogger \
  --error-logfile "$OUT/server.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz/" && break
  sleep 0.2
done

set +e
$BIN/schemathesis run "http://127.0.0.1:$PORT/api/schema/" \
  -H "Authorization: Token $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$EXAMPLES" --max-time "$MAX_TIME" --seed "${FUZZ_SEED:-20261123}" \
  --report junit --report-dir "$OUT" --no-color >"$OUT/schemathesis.log" 2>&1
STATUS=$?
set -e

# One request per line that starts with its status (a fuzzed path may hold a newline and
# spill onto the next line, which then does not start with three digits).
SENT=$(awk '$1 ~ /^[0-9][0-9][0-9]$/ && index($3, "/api/") == 1' "$OUT/access.log" | wc -l)
SERVER_ERRORS=$(awk '$1 ~ /^[0-9][0-9][0-9]$/ && $1 + 0 >= 500' "$OUT/access.log" | wc -l)
tail -n 25 "$OUT/schemathesis.log"
echo "fuzz: ${SENT} API requests sent, ${SERVER_ERRORS} server errors (5xx), schemathesis exit ${STATUS}"
if [ "$SERVER_ERRORS" -ne 0 ] || [ "$STATUS" -ne 0 ]; then
  echo "fuzz: FAILED — see $OUT/schemathesis.log and $OUT/server.log" >&2
  exit 1
fi
