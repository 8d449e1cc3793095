# Salesgrid: `make run` starts the whole platform locally with demo data; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := proto libs/common services/identity services/customers services/pipeline services/activities \
            services/contracts services/analytics services/expenses services/webhooks gateway devtools
STAMP := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto')

.PHONY: setup proto run test chaos bench migration client clean

setup: $(STAMP) proto

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(foreach p,$(PACKAGES),-e $(p))
	touch $@

# Generated code lands next to the .proto files (git-ignored).
proto: $(STAMP)
	$(BIN)/python tools/genproto.py

run: setup
	$(BIN)/python -m salesgrid_dev run

test: setup
	$(BIN)/python -m pytest -q

# The long NATS-cluster chaos run: >= 30,000 events while nodes are killed -9 one after another.
chaos: setup
	SALESGRID_CHAOS_EVENTS=30000 $(BIN)/python -m pytest -q -p no:randomly --timeout=1800 tests/chaos

bench: setup
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/customers_dedup.py
	$(BIN)/python bench/analytics_freshness.py
	$(BIN)/python bench/exports.py

# make migration SERVICE=customers MSG="add shares"
migration: setup
	$(BIN)/python tools/newmigration.py $(SERVICE) "$(MSG)"

client: setup
	$(BIN)/python tools/genclient.py

clean:
	rm -rf $(VENV) .run
	find proto -name '*_pb2*.py*' -delete
