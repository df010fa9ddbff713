# Ofpra Connect. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
export FLASK_APP := wsgi:app
# The issuer is where partners reach the service: it follows PORT unless set.
export OAUTH_ISSUER ?= http://127.0.0.1:$(PORT)

.PHONY: run test test-sqlite lint bench demo install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/flask db upgrade
	$(BIN)/flask sandbox load sandbox/people.json
	$(BIN)/flask partners demo

run: demo
	@echo "Ofpra Connect on http://127.0.0.1:$(PORT) — demo partners in instance/demo/partners/"
	$(BIN)/gunicorn --workers $(WORKERS) --worker-class sync --bind 127.0.0.1:$(PORT) \
		--access-logfile - 'wsgi:app'

# Runs every test on SQLite, and on PostgreSQL when it answers (REQUIRE_POSTGRES=1 makes
# its absence an error, as in CI).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info
