"""Pytest setup: notebooks collected by nbval run in smoke mode, in this environment, without output comparison."""
import os

import pytest


def pytest_configure(config):
    """Turn `--nbval` into a smoke-mode execution check (stored full-mode outputs differ by timings)."""
    if getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False):
        os.environ["SMOKE"] = "1"
        os.environ["PROGRESS_BARS"] = "0"
        config.option.nbval_lax = True
        config.option.nbval_current_env = True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Tell a notebook's kernel which notebook it runs (helpers names the results file after it): nbval starts the
    kernel, inheriting this environment, in the setup of the notebook's first cell."""
    if item.path.suffix == ".ipynb":
        os.environ["NOTEBOOK_PATH"] = str(item.path)
