# Every target sets up .venv by itself on a fresh machine (nothing but python3 needed).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/outage demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check chaos
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/engine_decisions.py
	$(PY) benchmarks/hook_overhead.py
	$(PY) benchmarks/validate_speed.py
	$(PY) benchmarks/gateway_throughput.py
	$(PY) benchmarks/load_rate.py
	$(PY) benchmarks/run_overhead.py
	$(PY) benchmarks/pytest_overhead.py
	$(PY) benchmarks/iam_apply.py

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
