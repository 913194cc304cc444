# Every target does its own set-up: venv, dependencies, databases, migrations.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := libs/suivi_common services/accounts services/plans services/leads \
            services/mailer services/compliance gateway
export PSYCOPG_WAIT_FUNC := wait_select
# Production is the default of every process; what make starts here is dev.
export SUIVI_ENV ?= dev

.PHONY: install infra migrate run test browser messages fuzz demo bench lint clean

$(STAMP): requirements/constraints.txt requirements/dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements/constraints.txt \
		-r requirements/dev.txt $(addprefix -e ,$(PACKAGES))
	@touch $(STAMP)

install: $(STAMP)

infra: install
	@$(BIN)/python -m tools.infra check

migrate: infra
	$(BIN)/python -m tools.platform migrate

run: infra
	$(BIN)/python -m tools.platform run

# Debian's Chromium for the browser tests (tests/browser): Playwright never downloads one;
# and axe-core, their accessibility engine, from the npm registry as the lockfile pins it
AXE := tests/browser/node_modules/axe-core/axe.min.js
browser: $(AXE)
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@touch $(AXE)

# the web office's message ids, re-extracted into its French catalogue (read at run time)
messages: install
	cd gateway && ../$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k N_ --no-location \
		--omit-header -o ../var/web-messages.pot . && ../$(BIN)/pybabel update --no-fuzzy-matching \
		-i ../var/web-messages.pot -d gateway/web/locale -l fr

# three shards side by side, one summary line (tools/testrun.py)
test: infra browser
	$(BIN)/python -m tools.testrun

# schemathesis against a private platform, far longer than the bounded run in make test
fuzz: infra
	SUIVI_FUZZ=long $(BIN)/python -m pytest tests/e2e/test_schemathesis.py -o timeout=0 -s

demo: install
	$(BIN)/python -m tools.demo

bench: infra
	$(BIN)/python -m bench

# types: strict on suivi_common and every domain/ package, the default checks elsewhere (mypy.ini)
TYPED := libs/suivi_common/suivi_common $(foreach s,accounts plans leads mailer compliance,services/$(s)/$(s)) \
         gateway/gateway

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED)

clean:
	rm -rf $(VENV) var
