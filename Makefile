# The README's two commands: `make run` (install + start the app) and `make test` (install + run every test).
# Both install into a project virtual environment, `.venv`, made with $(PYTHON): a distribution's own
# python3 refuses `pip install` outside one (PEP 668, "externally-managed-environment").
PYTHON ?= python3
VENV ?= .venv
VPY = $(VENV)/bin/python
PIP = $(VPY) -m pip install --quiet --disable-pip-version-check
# apt-get needs root; anyone else goes through sudo.
APT = $(if $(filter 0,$(shell id -u)),,sudo) apt-get
# Debian and Ubuntu ship venv's pip bootstrap (ensurepip) as python3.X-venv, not with python3 itself.
VENV_DEB = $(shell $(PYTHON) -c 'import sys; print(f"python3.{sys.version_info[1]}-venv")' 2>/dev/null)

.PHONY: run test install install-test

$(VPY):
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(APT) update -qq && $(APT) install -y -qq $(VENV_DEB); }
	$(PYTHON) -m venv $(VENV)

# The stamps re-run pip only when a requirements file changed.
$(VENV)/.installed: requirements.txt | $(VPY)
	$(PIP) -r requirements.txt
	@touch $@

$(VENV)/.installed-test: requirements.txt requirements-dev.txt | $(VPY)
	$(PIP) -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test
	@command -v chromium >/dev/null || { $(APT) update -qq && $(APT) install -y -qq chromium; }

run: install
	$(VPY) -m streamlit run streamlit_app.py

test: install-test
	$(VPY) -m pytest
