"""pytest plugin: how many workers `pytest -n auto` starts (pytest-xdist), and how many threads each uses.

Loaded from `pyproject.toml` (`-p tests.xdist_workers`); without pytest-xdist installed it does nothing.
xdist's own `-n auto` starts one worker per CPU core. Each worker runs notebooks in a Jupyter kernel of
its own and trains PyTorch models, so on a big machine that would be dozens of torch processes competing
for memory and cores. Here `-n auto` means one worker per CPU this process may use (`os.sched_getaffinity`,
so a container's or CI runner's limit counts), at most `MAX_WORKERS`: two on a two-core CI runner.
`PYTEST_XDIST_AUTO_NUM_WORKERS=N` (xdist's own variable) chooses N instead, and `-n N` always means N.

Each worker then gets its share of the CPUs for its threads: `OMP_NUM_THREADS` is set to CPUs // workers
(at least 1) in the worker, before anything imports torch, so its notebook kernels and subprocesses inherit
it; a value set by the caller is kept. Without that, two workers on two cores each run PyTorch (and BLAS)
with two threads, and threads waiting on each other's cores make small models many times slower.
"""
import os, sys
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


def worker_threads(workers:int, cpus=None) -> int:
    "Threads for each of `workers` workers sharing the CPUs"
    return max(1, (available_cpus() if cpus is None else cpus) // max(1, workers))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    return auto_workers()


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")   # set by xdist in its workers only
    if not workers or os.environ.get("PYTEST_XDIST_WORKER") is None or "OMP_NUM_THREADS" in os.environ: return
    n = worker_threads(int(workers))
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "torch" in sys.modules: sys.modules["torch"].set_num_threads(n)
