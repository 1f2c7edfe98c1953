# Every target the README shows. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt lint completions

## test: the whole test suite (unit, integration, CLI, end-to-end against real servers)
test:
	$(CARGO) test --locked --all-targets

## fmt: format the code
fmt:
	$(CARGO) fmt

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

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

.PHONY: up down logs e2e e2e-native

## up: build the image and start the stack on http://localhost:8000 (needs WEBHOOK_SECRET)
up:
	$(COMPOSE_ENV) $(COMPOSE) up -d --build

## down: stop the stack and delete its volume (the database)
down:
	$(COMPOSE_ENV) $(NO_SECRET_NEEDED) $(COMPOSE) down -v

## logs: follow the api service's JSON logs
logs:
	$(COMPOSE_ENV) $(NO_SECRET_NEEDED) $(COMPOSE) logs -f api

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

.PHONY: bench

## bench: load benchmark of the release build on temporary databases; prints a table and writes target/bench/results.json
bench:
	$(CARGO) bench --locked --bench load
