# The two commands of a fresh machine:
#   make demo   set up, then run the main job on the built-in demo data
#   make test   set up (virtualenv, pip and apt packages), run every test
# Others: make setup, make test-quick (skips tests marked slow), make lint,
# make clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: setup system-deps demo test test-quick lint bazel-build clean

# The virtualenv with the package (editable) and its test tools.
$(STAMP): setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "im2txt needs Python >= 3.10 ($(PYTHON) is older)"; exit 1; }
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV) || \
	  { echo "python3 -m venv failed: apt-get install python3-venv"; exit 1; }
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	@touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests need: Bazel (offline build of the binaries),
# unzip and wget (download script), Java (caption metrics), Chromium
# (gallery rendering test). The demo needs only Java.
system-deps:
	@bash scripts/install_system_deps.sh test

demo: setup
	@bash scripts/install_system_deps.sh demo
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/run_demo.sh

test: setup system-deps lint
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tests/run_tests.sh full

test-quick: setup
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tests/run_tests.sh quick

# pylint in the Google style (.pylintrc) over the whole tree; part of test.
lint: setup
	@echo "pylint (.pylintrc): im2txt tests benchmarks setup.py"
	@$(VENV)/bin/pylint --rcfile=.pylintrc im2txt tests benchmarks setup.py

bazel-build: setup system-deps
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bazel build -c opt //im2txt/...

clean:
	rm -rf $(VENV) demo_output
	-bazel clean 2>/dev/null
