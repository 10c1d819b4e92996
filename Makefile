# Every target sets up .venv by itself on a fresh machine (nothing but python3 needed): `make demo` installs
# the package alone, `make test`, `lint`, `docs` and `bench` also its development tools, and `make test`
# Debian's chromium for the HTML report test when it is missing and may be installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
# The AWS SDK for JavaScript v3 as a gateway client in the tests; only where npm is (its test skips otherwise).
JS     := tests/injectors/js
JS_STAMP := $(if $(shell command -v npm 2>/dev/null),$(JS)/node_modules/.installed)
CHROMIUM_HINT := the HTML report test needs Chromium: install it with 'sudo apt-get install -y chromium', then run make test again

.PHONY: demo test lint bench docs clean chromium

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(JS)/node_modules/.installed: $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium, when it is missing: as root, or with passwordless sudo; otherwise one line saying how.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	    if [ "$$(id -u)" = 0 ]; then sudo=""; \
	    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	    else echo "make test: $(CHROMIUM_HINT)" >&2; exit 1; fi; \
	    command -v apt-get >/dev/null 2>&1 || { echo "make test: $(CHROMIUM_HINT)" >&2; exit 1; }; \
	    echo "installing Debian's chromium for the HTML report test"; \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	}

demo: $(RUNTIME_STAMP)
	@status=0; $(VENV)/bin/outage demo || status=$$?; \
	echo; echo "The outage command is in $(VENV)/bin: run '. $(VENV)/bin/activate' to use it (or call $(VENV)/bin/outage)."; \
	exit $$status

# In parallel (pytest-xdist): four workers on two cores, as many tests wait on processes and sockets; each
# test file stays on one worker, so its module-scoped servers and runs are made once. The package is
# byte-compiled first (an editable install is not, and with PYTHONDONTWRITEBYTECODE set every `outage`
# process the tests start would compile it again: a quarter of a second each).
test: $(DEV_STAMP) $(JS_STAMP) chromium
	$(PY) -m compileall -q chaos
	$(PY) -m pytest -n 4 --dist loadfile

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check chaos
	$(VENV)/bin/mypy

# microburst (a peer fault-injection proxy) is compared against in a venv of its own, never the project's.
BENCH_MB := benchmarks/.microburst

$(BENCH_MB)/bin/microburst:
	$(PYTHON) -m venv $(BENCH_MB)
	$(BENCH_MB)/bin/pip install --quiet microburst==0.10.0 || echo "microburst could not be installed: compared without it"

bench: $(DEV_STAMP) $(BENCH_MB)/bin/microburst
	$(PY) benchmarks/run.py
	$(PY) benchmarks/docs.py --check

docs: $(DEV_STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info $(JS)/node_modules
