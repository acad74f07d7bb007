#!/usr/bin/env bash
# Fuzz the REST API with schemathesis against the running app (make fuzz).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/fuzzdb scripts/fuzz.sh [EXAMPLES] [SECONDS]
#
# Migrates and seeds (seed_demo) the PostgreSQL database, starts gunicorn on FUZZ_PORT
# (8110), and for each user of FUZZ_USERS (default: one per role of the demo store, admin
# last) logs in with a DRF token and runs schemathesis over /api/schema/: every operation,
# EXAMPLES cases each (30), at most SECONDS (600) per user. SECONDS=0 sets no time budget:
# each phase of FUZZ_PHASES (default all four) then runs once with EXAMPLES cases per
# operation, so a run sends the same requests however busy the machine is (make test's cut).
# The stateful phase follows the schema's OpenAPI links (dealership.api.add_operation_links:
# create or list -> the operations on that object): FUZZ_STATEFUL_SCENARIOS scenarios (100)
# of at most FUZZ_STATEFUL_STEPS calls (6) each, a fixed count, never a time budget.
# A role's 403s are documented
# answers, so every role must also see zero 5xx and zero schema violations (status codes,
# content types, headers and bodies as documented). Figures come from the server's own
# access log, per user and in all; reports land in $FUZZ_OUT (default $VAR_DIR/fuzz or
# var/fuzz), one schemathesis log and junit report per user.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${FUZZ_PORT:-8110}"
EXAMPLES="${1:-${FUZZ_EXAMPLES:-30}}"
MAX_TIME="${2:-${FUZZ_MAX_TIME:-600}}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}"
TIME_BUDGET=()
if [ "$MAX_TIME" != "0" ]; then
  TIME_BUDGET=(--max-time "$MAX_TIME")
fi
FUZZ_USERS="${FUZZ_USERS:-${FUZZ_USER:-advisor controller tech1 qc cashier care claims manager admin}}"
OUT="${FUZZ_OUT:-${VAR_DIR:-var}/fuzz}"
STATEFUL_SCENARIOS="${FUZZ_STATEFUL_SCENARIOS:-100}"
STATEFUL_STEPS="${FUZZ_STATEFUL_STEPS:-6}"
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database the fuzz run may fill}"
case "$DATABASE_URL" in
  postgres*) ;;
  *) echo "fuzz: DATABASE_URL must be PostgreSQL" >&2; exit 2 ;;
esac
export CELERY_TASK_ALWAYS_EAGER="${CELERY_TASK_ALWAYS_EAGER:-true}"
mkdir -p "$OUT"
rm -f "$OUT/access.log"
# The stateful phase's own bounds (the other phases take EXAMPLES from the command line).
# Its calls are valid ones (mode positive): a chain goes on only from a 2xx, and the
# fuzzing phase already sends the invalid input.
printf '[phases.stateful]\nmax-steps = %s\n\n[phases.stateful.generation]\nmax-examples = %s\nmode = "positive"\n' \
  "$STATEFUL_STEPS" "$STATEFUL_SCENARIOS" >"$OUT/schemathesis.toml"

$BIN/python manage.py migrate --noinput -v0
if [ -z "${FUZZ_SKIP_SEED:-}" ]; then
  $BIN/python manage.py seed_demo >"$OUT/seed.log" 2>&1
fi
declare -A TOKENS
while read -r name token; do
  [ -n "$name" ] && TOKENS[$name]=$token
done < <($BIN/python manage.py shell -v 0 -c "
from django.contrib.auth import get_user_model
from dealership.tokens import api_token_issue
for name in '$FUZZ_USERS'.split():
    print(name, api_token_issue(user=get_user_model().objects.get(username=name), name='fuzz')[1])
" | grep -E '^[A-Za-z0-9_]+ [0-9a-f]{40}$')

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

# One request per line that starts with its status (a fuzzed path may hold a newline and
# spill onto the next line, which then does not start with three digits).
count_sent() { awk '$1 ~ /^[0-9][0-9][0-9]$/ && index($3, "/api/") == 1' | wc -l; }
count_errors() { awk '$1 ~ /^[0-9][0-9][0-9]$/ && $1 + 0 >= 500' | wc -l; }

# Three operations would end the run's own footing, not find a fault: revoking the token the
# run signs in with (every later call a 401), closing today's books (every later payment
# refused) and answering a delete request (the stateful phase records one and anonymises the
# demo customer, for good: its later calls meet "已删除客户" with no mobile). Their own tests
# cover them (dealership/tests/test_api_integrations.py, delivery/tests/test_api_day_close.py,
# dealership/tests/test_api_customers_privacy.py).
FAILED=0
for user in $FUZZ_USERS; do
  before=$(wc -l <"$OUT/access.log")
  set +e
  $BIN/schemathesis --config-file "$OUT/schemathesis.toml" run "http://127.0.0.1:$PORT/api/schema/" \
    -H "Authorization: Token ${TOKENS[$user]}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --exclude-path-regex '^/api/integrations/tokens/\{[^}]+\}/revoke/$' \
    --exclude-path-regex '^/api/delivery/day-closes/close/$' \
    --exclude-path-regex '^/api/privacy-requests/\{[^}]+\}/delete/$' \
    --phases "$PHASES" --max-examples "$EXAMPLES" "${TIME_BUDGET[@]}" --seed "${FUZZ_SEED:-20261123}" \
    --report junit --report-dir "$OUT/$user" --no-color >"$OUT/schemathesis-$user.log" 2>&1
  status=$?
  set -e
  mine=$(tail -n +"$((before + 1))" "$OUT/access.log")
  sent=$(count_sent <<<"$mine")
  errors=$(count_errors <<<"$mine")
  # The stateful phase's scenarios and the links it followed, as schemathesis counts them.
  scenarios=$(grep -oE 'Scenarios: +[0-9]+' "$OUT/schemathesis-$user.log" | grep -oE '[0-9]+$' || true)
  links=$(grep -oE 'API Links: +[0-9]+ covered' "$OUT/schemathesis-$user.log" | grep -oE '[0-9]+' || true)
  echo "fuzz as $user: ${sent} API requests, ${errors} server errors (5xx), statuses:" \
    "$(awk '$1 ~ /^[0-9][0-9][0-9]$/ {print $1}' <<<"$mine" | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')" \
    "stateful: ${scenarios:-0} scenarios, ${links:-0} links followed;" \
    "schemathesis exit ${status}"
  if [ "$status" -ne 0 ]; then
    FAILED=1
    tail -n 25 "$OUT/schemathesis-$user.log"
  fi
done

SENT=$(count_sent <"$OUT/access.log")
SERVER_ERRORS=$(count_errors <"$OUT/access.log")
echo "fuzz: ${SENT} API requests sent, ${SERVER_ERRORS} server errors (5xx), users: ${FUZZ_USERS}"
if [ "$SERVER_ERRORS" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
  echo "fuzz: FAILED — see $OUT/schemathesis-<user>.log and $OUT/server.log" >&2
  exit 1
fi
