# The README's two commands: `make run` (install + start the app) and `make test` (install + run every test).
PYTHON ?= python3
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: run test install install-test

install:
	$(PIP) -r requirements.txt

install-test:
	$(PIP) -r requirements-dev.txt
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

run: install
	$(PYTHON) -m streamlit run streamlit_app.py

test: install-test
	$(PYTHON) -m pytest
