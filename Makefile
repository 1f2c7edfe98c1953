# Every target the README shows. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt lint schemathesis deny

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

## schemathesis: property-based tests of the running API from its OpenAPI document (Python 3, PyPI)
schemathesis:
	CARGO="$(CARGO)" scripts/schemathesis.sh

## deny: licenses, duplicate crates and sources of the dependency tree (cargo-deny installed if missing)
deny:
	@command -v cargo-deny >/dev/null || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check --hide-inclusion-graph --show-stats licenses bans sources
