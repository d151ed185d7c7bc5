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

# Issue 4: the full benchmark (indexes the 609 MultiHop-RAG articles on first use; ~5 min on an idle 2-core machine).
BENCH ?= ../shared/bench
eval: install
	$(NEWSQA) eval retrieval --corpus $(BENCH)/multihop/corpus.json --queries $(BENCH)/multihop/dev_queries.json --baseline
	$(NEWSQA) eval conversations --file $(BENCH)/conversations/dev_conversations.json --corpus $(BENCH)/multihop/corpus.json
