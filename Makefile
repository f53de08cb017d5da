# Two commands matter: `make run` (the server on the embedded default) and
# `make test` (the whole suite). Both install what they need themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install system-deps web web-deps test-js-deps lint typecheck pytest web-test dist version bench bench-python cluster clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web-deps: web/node_modules/.package-lock.json

tests/js/node_modules/.package-lock.json: tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

test-js-deps: tests/js/node_modules/.package-lock.json

web: web-deps
	cd web && npm run build

run: install web
	$(VENV)/bin/switchboard serve --host $(HOST) --port $(PORT)

# Debian packages the tests drive for real: redis, PostgreSQL, nginx, Chromium.
system-deps:
	@scripts/system-deps.sh

lint: install
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples

typecheck: install
	$(VENV)/bin/mypy

web-test: web-deps
	cd web && npm test && npm run typecheck

# Two workers (tests mostly wait on servers they start), whole files per worker so
# a module's fixtures start once; then the timing-sensitive tests, alone.
TEST_WORKERS ?= 2
pytest: install system-deps web test-js-deps
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial"
	$(VENV)/bin/pytest -m serial

test: install system-deps lint typecheck web-test pytest

# The two packages, one version (src/switchboard/__about__.py): the wheel, with the
# web page built first and checked to be inside, and the npm tarball of web/
# (its prepack builds the library). Both land in dist/; docs/packaging.md.
dist: install web
	rm -rf dist
	$(PY) -m build --outdir dist
	$(PY) -m zipfile -l dist/switchboard-*.whl | grep -q 'switchboard/static/index.html'
	cd web && npm pack --pack-destination ../dist

# One version for both packages: `make version VERSION=0.2.0`.
version:
	@test -n "$(VERSION)" || { echo "usage: make version VERSION=x.y.z"; exit 2; }
	sed -i 's/^__version__ = .*/__version__ = "$(VERSION)"/' src/switchboard/__about__.py
	cd web && npm version --no-git-tag-version --allow-same-version $(VERSION)

# Redis, PostgreSQL, $(NODES) nodes and nginx on this machine (docs/operations.md); Ctrl-C stops all.
NODES ?= 3
cluster: install system-deps web
	deploy/cluster.sh $(NODES)

# Side by side with node-ref and py-ref (docs/benchmarks.md: the peers and the load
# generator are kept outside the repository). bench-python: the older Python generator.
bench: install
	$(PY) -m bench.loadgen_compare

bench-python: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) web/node_modules web/dist dist build src/switchboard/static .pytest_cache .mypy_cache .ruff_cache
