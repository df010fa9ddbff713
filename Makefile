# Ofpra Connect. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
export FLASK_APP := wsgi:app
# The issuer is where partners reach the service: it follows PORT unless set.
export OAUTH_ISSUER ?= http://127.0.0.1:$(PORT)

.PHONY: run test test-sqlite lint bench demo install translations i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

# The page texts: the .po catalogues are committed, the .mo files are built from them.
CATALOGS := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
translations: $(CATALOGS:.po=.mo)

app/translations/%/LC_MESSAGES/messages.mo: app/translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations -l $* -o $@ -i $<

# Extract the texts from the code and templates, and bring every catalogue up to date: then
# translate the new empty msgstr (a test fails while one is missing). A new language:
# `$(BIN)/pybabel init -i build/messages.pot -d app/translations -l CODE` after this.
i18n: install
	@mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --add-location=file \
		--project="Ofpra Connect" --copyright-holder=OFPRA -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d app/translations --ignore-obsolete \
		--no-fuzzy-matching

demo: install
	$(BIN)/flask db upgrade
	$(BIN)/flask sandbox load sandbox/people.json
	$(BIN)/flask partners demo
	$(BIN)/flask accounts demo

run: demo
	@echo "Ofpra Connect on http://127.0.0.1:$(PORT) — demo partners in instance/demo/partners/,"
	@echo "demo connection keys (activate at /activate) in instance/demo/people.json"
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
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info build
	rm -f app/translations/*/LC_MESSAGES/*.mo
