# bestnext: `make demo` to try it, `make test` to check it.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export BESTNEXT_DATABASE_URL ?= sqlite:///var/bestnext.db
TEST_WORKERS ?= 2  # pytest-xdist processes (the suite is mostly waiting on servers and subprocesses)

.PHONY: install demo test lint bench serve migrate clean

$(BIN)/bestnext: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(BIN)/bestnext

install: $(BIN)/bestnext  ## create .venv with the pinned dependencies

migrate: install
	$(BIN)/bestnext db upgrade

demo: install  ## install, migrate, load the demo bank and serve on 127.0.0.1:8000 (logs: var/log/bestnext.log)
	BESTNEXT_LOG_FILE=$${BESTNEXT_LOG_FILE:-var/log/bestnext.log} $(BIN)/bestnext demo up --host $(HOST) --port $(PORT)

serve: migrate
	$(BIN)/bestnext serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/mypy src

test: install lint  ## unit, integration (SQLite + PostgreSQL) and e2e tests
	$(BIN)/pytest -q -p no:cacheprovider --timeout=600 -n $(TEST_WORKERS) tests src --doctest-modules

bench: install  ## write var/bench.json
	$(BIN)/python -m bestnext.bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
