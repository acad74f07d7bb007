# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APPS := dealership appointments reception workorders workshop delivery followup portal loancars reports demo
PORT ?= 8000
# `make test` runs the test files in this many processes (pytest-xdist; CI has 2 cores).
TEST_PROCESSES ?= 2

.PHONY: run test install system-deps messages compilemessages migrate seed lint format bench bench-recalls drills clean fuzz form-fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python system-deps
	$(BIN)/pip install -q -e '.[dev]'
	$(MAKE) -s compilemessages

# Debian packages the product needs; installed only when missing.
system-deps:
	@bash scripts/system-deps.sh

compilemessages:
	@for app in $(APPS); do (cd $$app && [ -d locale ] && ../$(BIN)/python ../manage.py compilemessages -v0) || true; done
	@[ -d locale ] && $(BIN)/python manage.py compilemessages -v0 --ignore '$(VENV)' --ignore 'var' || true

# Regenerate the catalogues: one per app, one at the top for templates/.
messages:
	@for app in $(APPS); do (cd $$app && mkdir -p locale && ../$(BIN)/python ../manage.py makemessages -l zh_Hans --no-obsolete --no-location -v0); done
	@mkdir -p locale && $(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --no-location -v0 $(foreach app,$(APPS),--ignore '$(app)/*') --ignore '$(VENV)/*' --ignore 'var/*'

migrate:
	$(BIN)/python manage.py migrate --noinput

seed:
	$(BIN)/python manage.py seed_demo

# Quick start on the embedded default: SQLite, filesystem broker, worker and beat included.
run: install migrate seed
	@bash scripts/run-stack.sh $(PORT)

test: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(TEST_PROCESSES) --durations=25
	@# On PostgreSQL, every page as every role again on the embedded SQLite of `make run`.
	[ -z "$$DATABASE_URL" ] || env -u DATABASE_URL -u REQUIRE_POSTGRES REDIS_URL= REDIS_CACHE_URL= \
		$(BIN)/pytest -q -n $(TEST_PROCESSES) -p no:cacheprovider tests/test_access_table.py \
		-k each_page_answers

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: install
	$(BIN)/pytest -m bench -p no:cacheprovider -s --timeout 3600

# Issue 20.10: a 10 000-VIN recall list previewed and confirmed in under 10 s.
bench-recalls:
	$(BIN)/pytest -m bench -p no:cacheprovider -s appointments/tests/test_recalls_bench.py

# Fuzz the API with schemathesis (PostgreSQL in DATABASE_URL; it is migrated and seeded).
fuzz: install
	bash scripts/fuzz.sh $(or $(EXAMPLES),30) $(or $(SECONDS_MAX),600)

# Submit every page form with hostile values as every role (PostgreSQL in DATABASE_URL;
# PAGES per role, default 150). The short cut of it runs in `make test`.
form-fuzz: install
	FORM_FUZZ_LONG=1 FORM_FUZZ_PAGES=$(or $(PAGES),150) $(BIN)/pytest tests/test_form_fuzz.py \
		-k long -p no:cacheprovider -p no:logging -s --timeout 7200

clean:
	rm -rf var/db.sqlite3 var/broker var/cache
