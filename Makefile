# Passerelle — `make run` serves the app, `make test` runs the whole suite, `make bench` the benchmarks.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
ONLY ?=

.PHONY: setup run peer test bench translations chromium weasyprint-libs clean

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

translations: $(MO_FILES)

setup: $(STAMP) translations
	mkdir -p instance

run: setup weasyprint-libs
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# The reference field-service application of the demo connector TERRAIN (next to `make run`)
peer: setup
	$(FLASK) exchange peer field-service --port 5010 --data exchange/field_service/demo_interventions.json --api-key demo-terrain

# Browser tests drive Debian's chromium (never a downloaded browser).
chromium:
	@test -x $(CHROMIUM) || (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y chromium >/dev/null)) || sudo apt-get install -y chromium

# WeasyPrint (the invoice PDF) needs Pango from Debian's packages.
weasyprint-libs:
	@ldconfig -p | grep -q libpango-1.0 || (apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null)) || sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

test: setup chromium weasyprint-libs
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -m benchmarks $(ONLY)

clean:
	rm -rf $(VENV) instance/passerelle.db
