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

# User values are taken as typed, never read by make or a shell: $(value ...) keeps make from expanding them, and
# unexport from expanding them to export them (make exports command-line variables). A's words reach the tools
# single-quoted (a ' inside as '\''); the student's settings go in the environment as STUDENT_*, which the recipe
# names ("$STUDENT_NAME").
ARGS = $(foreach a,$(value A),'$(subst ','\'',$(a))')
export STUDENT_NAME := $(value NAME)
export STUDENT_ID := $(value ID)
export STUDENT_PARTNER := $(value PARTNER)
export STUDENT_PARTNER_ID := $(value PARTNER_ID)
unexport NAME ID PARTNER PARTNER_ID A
# the student's settings, passed on only when given on the command line (not from the environment: WSL sets NAME)
given = $(if $(filter command line,$(origin $(1))),"--$(2)=$$STUDENT_$(1)")
STUDENT = $(call given,NAME,name) $(call given,ID,id) $(call given,PARTNER,partner) $(call given,PARTNER_ID,partner-id)

.PHONY: all test venv reports check-reports

all: $(STAMP)
	@case "$${SMOKE:-0}" in 0|"") ;; *) $(PY) tools/run_notebooks.py $(ARGS); status=$$?; \
	  echo "SMOKE=$$SMOKE: outputs are under .smoke/; results/README.md and the reports were not rebuilt"; exit $$status;; esac; \
	$(PY) tools/run_notebooks.py $(ARGS); status=$$?; test $$status -lt 128 || exit $$status; \
	$(PY) tools/results_table.py && $(PY) tools/profile_runs.py >/dev/null && $(PY) tools/build_reports.py -- $(ARGS) && exit $$status

reports: $(STAMP)
	$(PY) tools/build_reports.py $(STUDENT) -- $(ARGS)

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
