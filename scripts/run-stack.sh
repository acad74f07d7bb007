#!/usr/bin/env bash
# Web server, Celery worker and Celery beat together, stopped together with Ctrl-C.
# Without REDIS_URL the broker is kombu's filesystem transport under var/broker.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-8000}"
BIN=.venv/bin
mkdir -p var/log
# The product's own 404/500 pages, not Django's debug page listing every URL; WhiteNoise
# serves the static files straight from the source folders (no collectstatic needed).
export DEBUG="${DEBUG:-0}" WHITENOISE_USE_FINDERS="${WHITENOISE_USE_FINDERS:-1}"
# Stop the worker and beat once, by their ids, and wait for them. `kill 0` signalled the
# whole group again on EXIT after INT: Celery's pool children, hit mid-shutdown by a second
# signal, died with SIGSEGV ("Segmentation fault" on every Ctrl-C).
children=()
stop() {
  trap - EXIT INT TERM
  kill -TERM "${children[@]}" 2>/dev/null || true
  wait "${children[@]}" 2>/dev/null || true
}
trap stop EXIT INT TERM
$BIN/celery -A dealership worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
children+=($!)
$BIN/celery -A dealership beat --loglevel=INFO >var/log/beat.log 2>&1 &
children+=($!)
echo
echo "  Service desk:  http://127.0.0.1:${PORT}/"
echo "  Log-ins:       advisor, controller, tech1, qc, cashier, care, manager, admin — password demo12345"
echo "  Worker/beat:   logs in var/log/worker.log and var/log/beat.log"
echo "  Broker:        ${REDIS_URL:-filesystem (var/broker)}   Database: ${DATABASE_URL:-SQLite (var/db.sqlite3)}"
echo
$BIN/python manage.py runserver "127.0.0.1:${PORT}"
