"""The Makefile hands user values (NAME, ID, PARTNER, PARTNER_ID, A) to the tools as typed: make and the shell read
nothing in them."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import helpers

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
STUB = """#!{python}
import json, os, signal, sys
print(json.dumps({{"argv": sys.argv[1:]}}))
if os.environ.get("STUB_SIGINT") == sys.argv[1]:  # dies as killed by Ctrl-C
    sys.stdout.flush(); signal.signal(signal.SIGINT, signal.SIG_DFL); os.kill(os.getpid(), signal.SIGINT)
"""


def hostile(ran):
    """Student settings and an A that would each create a file `ran`<n> if make or a shell ran anything in them."""
    student = {"NAME": f"Ada \"Lovelace\" O'Neil; `touch {ran}1` $(touch {ran}2) $HOME $(shell touch {ran}3) #x",
               "ID": f"12 34; touch {ran}4 \\", "PARTNER": f"Bob' && touch {ran}5 && echo '",
               "PARTNER_ID": "-7 $$ ${HOME} $(HOME)"}
    return student, f"a3_feedforward it's $HOME `touch {ran}6` $(touch {ran}7) $(shell touch {ran}8) ;touch {ran}9"


def clean(**env):
    """This process's environment without make's own variables (`make test` sets them), the user values and SMOKE,
    plus `env`."""
    skip = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "NAME", "ID", "PARTNER", "PARTNER_ID", "A", "SMOKE")
    return {**{k: v for k, v in os.environ.items() if k not in skip and not k.startswith("STUDENT_")}, **env}


def make(tmp_path, *args, status=0, **env):
    """The stub's JSON lines from `make -s <args>` at the repository root (which exits with `status`), PY being the
    stub and the environment holding none of the user values unless given in `env`."""
    stub, stamp = tmp_path / "python", tmp_path / "installed"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    stamp.touch()
    done = subprocess.run(["make", "-s", f"PY={stub}", f"STAMP={stamp}", *args], cwd=helpers.REPO, text=True,
                          capture_output=True, env=clean(**env), timeout=60)
    assert done.returncode == status, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_student_settings_and_a_reach_make_reports_as_typed(tmp_path):
    student, a = hostile(tmp_path / "ran")
    [call] = make(tmp_path, "reports", *[f"{k}={v}" for k, v in student.items()], f"A={a}")
    assert call["argv"] == ["tools/build_reports.py", f"--name={student['NAME']}", f"--id={student['ID']}",
                            f"--partner={student['PARTNER']}", f"--partner-id={student['PARTNER_ID']}", "--",
                            *a.split()]
    assert not list(tmp_path.glob("ran*"))


def test_a_reaches_every_tool_of_make_all_as_typed(tmp_path):
    _, a = hostile(tmp_path / "ran")
    calls = make(tmp_path, "all", f"A={a}", SMOKE="0")  # profile_runs.py's output goes to /dev/null
    assert [c["argv"] for c in calls] == [["tools/run_notebooks.py", *a.split()], ["tools/results_table.py"],
                                          ["tools/build_reports.py", "--", *a.split()]]
    assert not list(tmp_path.glob("ran*"))


def test_make_all_stops_when_the_runner_is_stopped_by_ctrl_c(tmp_path):
    calls = make(tmp_path, "all", status=2, SMOKE="0", STUB_SIGINT="tools/run_notebooks.py")
    assert [c["argv"] for c in calls] == [["tools/run_notebooks.py"]]


def test_student_settings_from_the_environment_are_not_taken(tmp_path):
    [call] = make(tmp_path, "reports", "ID=$HOME", NAME="DESKTOP-WSL", PARTNER="x")  # WSL sets NAME
    assert call["argv"] == ["tools/build_reports.py", "--id=$HOME", "--"]


def test_the_shell_text_holds_no_user_value(tmp_path):
    student, a = hostile(tmp_path / "ran")
    done = subprocess.run(["make", "-n", "reports", f"NAME={student['NAME']}", f"A={a}"], cwd=helpers.REPO,
                          text=True, capture_output=True, env=clean())
    assert '"--name=$STUDENT_NAME"' in done.stdout and "Lovelace" not in done.stdout
    assert "'$(shell' 'touch'" in done.stdout and not list(tmp_path.glob("ran*"))
