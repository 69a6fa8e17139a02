# gridapp — `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export FLASK_APP := wsgi

.PHONY: run test test-browser lint bench bench-town bench-phone bench-render bench-peer bench-notifications bootstrap extract-messages clean

# The .po catalogues are compiled by the app itself when it starts (gridapp/catalogues.py).
bootstrap: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o gridapp/translations/messages.pot --no-location --sort-output --no-wrap .
	$(BIN)/pybabel update -i gridapp/translations/messages.pot -d gridapp/translations --no-fuzzy-matching --no-wrap

run: bootstrap
	$(BIN)/python -m gridapp.launch

test: bootstrap
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(BIN)/ruff check .

# make bench: town and county datasets on PostgreSQL and SQLite, pages under load (wrk),
# storms, sweeps, query counts and the notification fan-out; then the key pages' load time on a
# throttled phone (bench.phone, Chromium), whose table latest.md carries too.
# Then, unless BENCH_TOWN=no, the town-shaped load (bench-town below).
BENCH_ARGS ?=
BENCH_PHONE_ARGS ?=
BENCH_TOWN ?= yes
bench: bootstrap
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.phone --report latest $(BENCH_PHONE_ARGS)
	if [ "$(BENCH_TOWN)" != no ]; then $(MAKE) bench-town; fi

# A load shaped like a town at shift change (locust, in its own virtualenv .venv-load): the most
# concurrent users served with p95 < 500 ms on PostgreSQL. Writes bench/results/town-load.md and .json.
# BENCH_TOWN_ARGS="--reuse" keeps the town dataset of an earlier run (database gridapp_load_town).
LOAD_VENV := .venv-load
BENCH_TOWN_ARGS ?=
$(LOAD_VENV)/.installed-stamp: bench/requirements-load.txt
	test -x $(LOAD_VENV)/bin/python || $(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/python -m pip install --quiet -r bench/requirements-load.txt
	touch $@

bench-town: bootstrap $(LOAD_VENV)/.installed-stamp
	$(BIN)/python -m bench.town $(BENCH_TOWN_ARGS)

# The key pages' in-process cost and bytes at town scale (SQLite): bench/results/render.md and .json.
bench-render: bootstrap
	$(BIN)/python -m bench.render $(BENCH_RENDER_ARGS)

# The volunteer's duty list beside a peer application's (ephios, in its own virtualenv .venv-peer,
# made from the package index when missing), side by side with wrk: bench/results/peer.md.
bench-peer: bootstrap
	$(BIN)/python -m bench.peer $(BENCH_PEER_ARGS)

# The key pages' load time on an emulated phone alone: writes bench/results/phone.md and .json.
bench-phone: bootstrap
	$(BIN)/python -m bench.phone $(BENCH_PHONE_ARGS)

BENCH_EVENTS ?= 10000
bench-notifications: bootstrap
	$(BIN)/python -m bench.notifications --events $(BENCH_EVENTS)

clean:
	rm -rf $(VENV) $(LOAD_VENV) .venv-peer .pytest_cache
