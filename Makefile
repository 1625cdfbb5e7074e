# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP := $(VENV)/.installed
# one worker more than the cores: the tests wait on PostgreSQL more than they compute (on 2 cores,
# 3 workers: 13 min 50 s against 15 min); a test file stays on one worker, so its module-wide base is built once
PYTEST_ARGS ?= -n $(shell expr $$(nproc) + 1) --dist loadfile

.PHONY: demo test install bench clean serve

$(STAMP): pyproject.toml $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --config-settings editable_mode=compat -e '.[test]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	CRMKIT_USER= $(VENV)/bin/crmkit --db sqlite:///crmkit-demo.db demo --book report-book --yes  # the demo file is ours to replace

# The web pages and the HTTP API over the demo base at http://127.0.0.1:8000 (asks for orlov's password once).
serve: $(STAMP)
	test -f crmkit-demo.db || $(MAKE) demo
	$(VENV)/bin/crmkit --db sqlite:///crmkit-demo.db user password orlov --if-missing
	$(VENV)/bin/crmkit --db sqlite:///crmkit-demo.db serve --port 8000

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q --config-settings editable_mode=compat -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run.py $(if $(SCALE),--scale '$(SCALE)') $(if $(DB),--db '$(DB)')

clean:
	rm -rf $(VENV) crmkit-demo.db* report-book *.egg-info
