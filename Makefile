# Every target the README shows. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt lint schemathesis fuzz deny

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

## fuzz: each cargo-fuzz target for FUZZ_SECONDS (libFuzzer; cargo-fuzz is installed if missing)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := signature_verify message_from_json list_query_parse parse_instant
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$target && \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target fuzz/corpus/$$target fuzz/seeds/$$target \
			-- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## deny: licenses, duplicate crates and sources of the dependency tree (cargo-deny installed if missing)
deny:
	@command -v cargo-deny >/dev/null || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check --hide-inclusion-graph --show-stats licenses bans sources
