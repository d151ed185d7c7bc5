# Two commands on a fresh machine: `make run` (install, index the seeds, start the chat) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
NEWSQA := $(VENV)/bin/newsqa

.PHONY: install run test bench eval clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch first, pinned: the CPU build; a bare `torch` would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: install
	$(NEWSQA) index add seeds/
	$(NEWSQA) serve

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
