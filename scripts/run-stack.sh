#!/usr/bin/env bash
# Web server, Celery worker and Celery beat together, stopped together with Ctrl-C.
# Without REDIS_URL the broker is kombu's filesystem transport under var/broker.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-8000}"
BIN=.venv/bin
mkdir -p var/log
trap 'kill 0' EXIT INT TERM
$BIN/celery -A dealership worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
$BIN/celery -A dealership beat --loglevel=INFO >var/log/beat.log 2>&1 &
echo
echo "  Service desk:  http://127.0.0.1:${PORT}/"
echo "  Log-ins:       advisor, controller, tech1, qc, cashier, care, manager, admin — password demo12345"
echo "  Worker/beat:   logs in var/log/worker.log and var/log/beat.log"
echo "  Broker:        ${REDIS_URL:-filesystem (var/broker)}   Database: ${DATABASE_URL:-SQLite (var/db.sqlite3)}"
echo
$BIN/python manage.py runserver "127.0.0.1:${PORT}"
