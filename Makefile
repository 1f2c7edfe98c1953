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

## completions: regenerate the shell completions committed under completions/ (a test fails when they drift)
completions:
	mkdir -p completions
	$(CARGO) run --locked --quiet -- completions bash > completions/app.bash
	$(CARGO) run --locked --quiet -- completions zsh > completions/_app
	$(CARGO) run --locked --quiet -- completions fish > completions/app.fish
	$(CARGO) run --locked --quiet -- completions elvish > completions/app.elv
	$(CARGO) run --locked --quiet -- completions powershell > completions/_app.ps1
