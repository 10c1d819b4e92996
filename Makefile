# Every target sets up .venv by itself on a fresh machine (nothing but python3 needed).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The AWS SDK for JavaScript v3 as a gateway client in the tests; only where npm is (its test skips otherwise).
JS     := tests/injectors/js
JS_STAMP := $(if $(shell command -v npm 2>/dev/null),$(JS)/node_modules/.installed)

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(JS)/node_modules/.installed: $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP)
	$(VENV)/bin/outage demo

test: $(STAMP) $(JS_STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check chaos
	$(VENV)/bin/mypy

# microburst (a peer fault-injection proxy) is compared against in a venv of its own, never the project's.
BENCH_MB := benchmarks/.microburst

$(BENCH_MB)/bin/microburst:
	$(PYTHON) -m venv $(BENCH_MB)
	$(BENCH_MB)/bin/pip install --quiet microburst==0.10.0 || echo "microburst could not be installed: compared without it"

bench: $(STAMP) $(BENCH_MB)/bin/microburst
	$(PY) benchmarks/run.py
	$(PY) benchmarks/docs.py --check

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info $(JS)/node_modules
