# make all [A=<assignment>]  run the notebooks in full mode, in place, then results/README.md and the reports
#                            (SMOKE=1 make all: smoke mode, everything lands under .smoke/)
# make test                  unit tests, then every notebook in smoke mode (SMOKE=1)
# make reports [A=...] [NAME="First Last" ID=123456]
#                            each assignment's hand-in files under reports/<assignment>/ from the committed notebooks
#                            (no re-run); NAME and ID (and PARTNER, PARTNER_ID for a3_feedforward's pair) are saved
#                            in student.toml, so that later builds, `make all` included, put them on the title pages
# make check-reports         unpack each code zip (and the a3 notebook) into an empty folder and run it in smoke mode
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
A      ?=

# the student's settings, passed on only when given on the command line (not from the environment: WSL sets NAME)
STUDENT = $(foreach v,NAME ID PARTNER PARTNER_ID,$(if $(filter command line,$(origin $(v))),\
            --$(subst _,-,$(if $(filter NAME,$(v)),name,$(if $(filter ID,$(v)),id,$(if $(filter PARTNER,$(v)),partner,partner_id)))) "$($(v))"))

.PHONY: all test venv reports check-reports

all: $(STAMP)
	@case "$${SMOKE:-0}" in 0|"") ;; *) $(PY) tools/run_notebooks.py $(A); status=$$?; \
	  echo "SMOKE=$$SMOKE: outputs are under .smoke/; results/README.md and the reports were not rebuilt"; exit $$status;; esac; \
	$(PY) tools/run_notebooks.py $(A); status=$$?; \
	$(PY) tools/results_table.py && $(PY) tools/profile_runs.py >/dev/null && $(PY) tools/build_reports.py $(A) && exit $$status

reports: $(STAMP)
	$(PY) tools/build_reports.py $(STUDENT) $(A)

check-reports: $(STAMP)
	CHECK_REPORTS=1 $(PY) -m pytest tests/test_reports.py -q -k zips_run_alone

test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbval-lax -q

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@
