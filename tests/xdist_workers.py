"""pytest plugin: how many workers `pytest -n auto` starts (pytest-xdist).

Loaded from `pyproject.toml` (`-p tests.xdist_workers`); without pytest-xdist installed it does nothing.
xdist's own `-n auto` starts one worker per CPU core. Each worker runs notebooks in a Jupyter kernel of
its own and trains PyTorch models with several threads, so on a big machine that would be dozens of
torch processes competing for memory and cores. Here `-n auto` means one worker per CPU this process
may use (`os.sched_getaffinity`, so a container's or CI runner's limit counts), at most `MAX_WORKERS`:
two on a two-core CI runner. `PYTEST_XDIST_AUTO_NUM_WORKERS=N` (xdist's own variable) chooses N instead,
and `-n N` always means N.
"""
import os
import pytest

MAX_WORKERS = 4


def available_cpus() -> int:
    "CPUs this process may run on"
    try: return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError): return os.cpu_count() or 1


def auto_workers(environ=os.environ, cpus=None) -> int | None:
    "Workers for `-n auto`; None where `PYTEST_XDIST_AUTO_NUM_WORKERS` is set (xdist then reads it)"
    if environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"): return None
    return max(1, min(MAX_WORKERS, available_cpus() if cpus is None else cpus))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    return auto_workers()
