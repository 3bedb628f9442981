# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test fonts lint typecheck unit postgres bench bench-broadcast bench-inbound bench-clock bench-reports clean locales

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

FONTS := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf

# The fonts documents are printed with (scripts/install-fonts.sh installs Debian's when they are missing).
fonts:
	@for f in $(FONTS); do test -f $$f || { scripts/install-fonts.sh; break; }; done

# Runs the service on the embedded defaults (SQLite under var/), seeding the demo data on an empty database.
run: $(STAMP) fonts
	$(BIN)/anzebot demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist): each test has its own database file or PostgreSQL database and its own ports.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

# The suite on SQLite, then again on PostgreSQL when its server binaries are on the machine (a throw-away
# cluster on loopback; see scripts/with-postgres.sh).
test: fonts lint typecheck unit postgres

postgres: $(STAMP)
	@if command -v postgres >/dev/null 2>&1; then \
		scripts/with-postgres.sh $(BIN)/python -m pytest -q -p no:cacheprovider -n 2; \
	else \
		echo "PostgreSQL server not found: only the SQLite pass ran"; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench.outbox_throughput
	$(BIN)/python -m bench.flow_latency
	$(BIN)/python -m bench.statements

# The yearly ledger of 10,000 hazards with 20,000 photos, and one hazard's PDF forms (~2 min, most of it seeding).
bench-reports: $(STAMP) fonts
	$(BIN)/python -m bench.reports

# 7,000 chats through `anzebot run` against fake platforms enforcing the limits, straight and killed (~9 min).
bench-broadcast: $(STAMP)
	$(BIN)/python -m bench.broadcast

# 200 concurrent WeCom callbacks and 200 Telegram webhook posts against `anzebot run`: acknowledgement latency
# beside a bare aiohttp route, and every update processed exactly once; then the CPU, rate and latency of an
# update beside a bare python-telegram-bot bot (~4 min).
bench-inbound: $(STAMP)
	$(BIN)/python -m bench.inbound

# The clock over 100,000 open hazards in 2,000 projects: sweeps with nothing due and with 7,500 due at 08:30,
# `anzebot due --json`, and messages answered during the 08:30 sweep (~3 min).
bench-clock: $(STAMP)
	$(BIN)/python -m bench.clock

# Re-extract the message catalogue and merge it into both locales (translators then fill the .po files).
locales: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k T -o locales/messages.pot --no-location --omit-header --no-wrap .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D anzebot --no-fuzzy-matching --ignore-obsolete --no-wrap

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
