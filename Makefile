# `make run` and `make test` do all the set-up they need (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres lint setup bench

$(STAMP): pyproject.toml
	.ci/system-packages app
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/auditrail serve

test: $(STAMP)
	.ci/system-packages test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	@$(MAKE) --no-print-directory test-postgres

# The database tests again on PostgreSQL. Skipped only off CI when no server answers.
test-postgres: $(STAMP)
	@if $(BIN)/python -m server.db.pgcheck "$(PG_URL)"; then \
		AUDITRAIL_TEST_POSTGRES="$(PG_URL)" $(BIN)/python -m pytest -q -m db; \
	elif [ -n "$$CI" ]; then echo "PostgreSQL does not answer on $(PG_URL); CI requires it" >&2; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_URL): PostgreSQL pass skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench
