# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := .demo

.PHONY: demo test docs bench clean
BENCH_ARGS ?=

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed

# The main job on the bundled sample exports, into a throw-away archive.
RUN := ARCHIVER_ARCHIVE=$(DEMO)/archive ARCHIVER_KEY_FILE=$(DEMO)/demo.key $(BIN)/archiver
demo: $(VENV)/.installed
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo '$$ archiver init --tz Europe/London --key-file .demo/demo.key --recovery-key-out .demo/recovery-key.txt'
	@ARCHIVER_ARCHIVE=$(DEMO)/archive $(BIN)/archiver init --tz Europe/London \
		--key-file $(DEMO)/demo.key --recovery-key-out $(DEMO)/recovery-key.txt
	@echo
	@echo '$$ archiver ingest sample_exports/ --custodian dana@broker.example'
	@$(RUN) ingest sample_exports/ --custodian dana@broker.example
	@echo
	@echo '$$ archiver search '"'"'price* OR mandate OR kaufpreis OR consulta'"'"' --limit 6'
	@$(RUN) search 'price* OR mandate OR kaufpreis OR consulta' --limit 6
	@echo
	@echo '$$ archiver policy load retention_policies/sec-17a-4.toml retention_policies/gdpr.toml'
	@$(RUN) policy load retention_policies/sec-17a-4.toml retention_policies/gdpr.toml
	@echo
	@echo '$$ archiver hold create marcus-lee-inquiry --matter "FINRA inquiry 2026-0412" --reason "preservation request" --chat "Marcus Lee"'
	@$(RUN) hold create marcus-lee-inquiry --matter "FINRA inquiry 2026-0412" \
		--reason "preservation request" --chat "Marcus Lee"
	@echo
	@echo '$$ archiver purge --as-of 2028-01-01      # a dry run: nothing is deleted'
	@$(RUN) purge --as-of 2028-01-01

test: $(VENV)/.installed-test
	$(BIN)/ruff check archiver tests
	$(BIN)/mypy archiver
	$(BIN)/pytest -q

docs: $(VENV)/.installed
	$(BIN)/python -m archiver.cli.reference docs/cli.md

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
