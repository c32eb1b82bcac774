# `make run` and `make test` do all the set-up they need (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
# Two workers, a test module each at a time (each module has a database of its own); the
# tests that assert timings run afterwards on their own. Exit 5 = that selection is empty.
PARALLEL ?= -n 2 --dist loadfile
PYTEST := $(BIN)/python -m pytest -q

.PHONY: run test test-sqlite test-postgres lint setup bench

$(STAMP): pyproject.toml
	.ci/system-packages app
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

# The demo data set (nine users with the password "demo") only here, never by default.
run: $(STAMP)
	AUDITRAIL_DEMO=1 $(BIN)/auditrail serve

test: $(STAMP)
	.ci/system-packages test
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(PYTEST) $(PARALLEL) -m "not serial"
	$(PYTEST) -m serial || test $$? -eq 5
	@$(MAKE) --no-print-directory test-postgres

# The database tests again on PostgreSQL. Skipped only off CI when no server answers.
test-postgres: $(STAMP)
	@if $(BIN)/python -m server.db.pgcheck "$(PG_URL)"; then \
		export AUDITRAIL_TEST_POSTGRES="$(PG_URL)"; \
		$(PYTEST) $(PARALLEL) -m "db and not serial" && \
		{ $(PYTEST) -m "db and serial" || test $$? -eq 5; }; \
	elif [ -n "$$CI" ]; then echo "PostgreSQL does not answer on $(PG_URL); CI requires it" >&2; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_URL): PostgreSQL pass skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m bench
