# The two Quick-start commands (`make demo`, `make test`) set everything up themselves.
.DEFAULT_GOAL := help
VENV := .venv/bin

PREFIX ?= $(HOME)/.local

.PHONY: help setup demo test lint bench screenshots install clean

help:
	@echo "make demo    set up, then build the demo library and open it"
	@echo "make test    set up, then lint and run the whole test suite"
	@echo "make bench   set up, then run every benchmark in bench/"
	@echo "make screenshots   regenerate screenshots/*.svg from the demo"
	@echo "make install put auralis on PATH (pipx, else a venv in PREFIX/lib/auralis + PREFIX/bin/auralis)"
	@echo "make clean   remove the virtualenv and caches"

setup:
	@bash scripts/bootstrap.sh

demo: setup
	$(VENV)/auralis demo

lint: setup
	$(VENV)/ruff check .

test: lint
	$(VENV)/python -m pytest -q

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(VENV)/python $$script || exit 1; done

screenshots: setup
	$(VENV)/python scripts/screenshots.py

install:
	@bash scripts/install.sh "$(PREFIX)"

clean:
	rm -rf .venv .pytest_cache .ruff_cache *.egg-info build dist
	find . -name __pycache__ -prune -exec rm -rf {} +
