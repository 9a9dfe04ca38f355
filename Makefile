# make all [A=<assignment>]  run the notebooks in full mode, in place, then results/README.md and the reports
#                            (SMOKE=1 make all: smoke mode, everything lands under .smoke/)
# make test                  unit tests, then every notebook in smoke mode (SMOKE=1)
# make reports [A=...]       reports/<assignment>.pdf and _code.zip from the committed notebooks (no re-run)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
A      ?=

.PHONY: all test venv reports

all: $(STAMP)
	@case "$${SMOKE:-0}" in 0|"") ;; *) $(PY) tools/run_notebooks.py $(A); status=$$?; \
	  echo "SMOKE=$$SMOKE: outputs are under .smoke/; results/README.md and the reports were not rebuilt"; exit $$status;; esac; \
	$(PY) tools/run_notebooks.py $(A); status=$$?; \
	$(PY) tools/results_table.py && $(PY) tools/build_reports.py $(A) && exit $$status

reports: $(STAMP)
	$(PY) tools/build_reports.py $(A)

test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbval-lax -q

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@
