# Every target the README shows. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: test fmt lint crash-soak

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

## crash-soak: SIGKILL the real server CRASH_CYCLES times under load; every acknowledged message must survive
CRASH_CYCLES ?= 200
crash-soak:
	CRASH_CYCLES=$(CRASH_CYCLES) $(CARGO) test --locked --release --test it -- --exact \
		reliability::every_acknowledged_message_survives_sigkill_at_random_moments --nocapture
