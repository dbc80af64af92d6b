# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# Offline everywhere; any model cache lives inside .venv, never in $HOME.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HOME := $(CURDIR)/$(VENV)/cache/huggingface
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install store run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Ingest is idempotent: unchanged files are skipped by content hash, so this is the staleness check.
store: install
	$(BIN)/mianshi ingest corpus/raw

run: store
	$(BIN)/mianshi serve

# The browser tests drive Debian's chromium (no browser download is possible); without a CJK font every
# Chinese character in a screenshot is an empty box.
test: install
	@command -v chromium >/dev/null && fc-list | grep -qi "Noto Sans CJK" || \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)
	$(BIN)/python -m pytest -q

bench: store
	$(BIN)/python -m tests.bench.run

clean:
	rm -rf $(VENV) .mianshi
