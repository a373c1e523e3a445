# make run   the site at http://127.0.0.1:8000/ on SQLite, messages processed in-process
# make test  the whole suite (on DATABASE_URL when set, else SQLite)
# make bench the benchmarks (PostgreSQL: BENCH_DATABASE_URL, default the local "test" database)
# make bench-quick  every benchmark in its quick mode, as CI runs them: fails if one crashes, runs
#            out of time (BENCH_QUICK_TIMEOUT, 150 s) or prints no ratio line last (BENCHES=...: those)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1:8000
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: install run test bench bench-quick lint clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...).")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: export DEBUG ?= 1
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddata demo_catalog
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py ensure_staff_user
	@echo "Shop: http://$(HOST)/   admin: http://$(HOST)/admin/"
	$(BIN)/python manage.py runserver $(HOST)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	for b in bench/[!_]*.py; do DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python $$b || exit 1; done

bench-quick: $(STAMP)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/_quick.py $(BENCHES)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* test-db.sqlite3* staticfiles .pytest_cache .hypothesis
