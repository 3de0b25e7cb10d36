# The README's two commands: `make up` runs the platform, `make test` runs every test.
.PHONY: up test install lint bench

install:
	scripts/install.sh

up: install
	.venv/bin/mimir up

test:
	scripts/test.sh

lint: install
	.venv/bin/ruff check .
	.venv/bin/mypy mimir_api flows
