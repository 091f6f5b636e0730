"How many workers `pytest -n auto` starts (tests/xdist_workers.py)"
import os, subprocess, sys
from pathlib import Path
import pytest
from tests.xdist_workers import MAX_WORKERS, auto_workers, worker_threads

ROOT = Path(__file__).resolve().parent.parent


def test_one_worker_per_cpu_up_to_the_cap():
    assert auto_workers({}, cpus=1) == 1
    assert auto_workers({}, cpus=2) == 2   # a two-core CI runner
    assert auto_workers({}, cpus=64) == MAX_WORKERS


def test_xdists_variable_wins():
    assert auto_workers({"PYTEST_XDIST_AUTO_NUM_WORKERS": "7"}, cpus=2) is None   # xdist's own hook then reads it


def test_pytest_n_auto_starts_that_many_workers(tmp_path):
    "The hook is the one xdist asks: with the cap at 1, `-n auto` starts one worker where xdist alone would start one per core"
    pytest.importorskip("xdist")
    (tmp_path / "test_x.py").write_text("def test_x(): pass\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}   # only xdist and this plugin: a quick start
    env.pop("PYTEST_XDIST_AUTO_NUM_WORKERS", None)
    code = "import sys, pytest, tests.xdist_workers as w; w.MAX_WORKERS = 1; sys.exit(pytest.main(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "-p", "xdist.plugin", "-p", "tests.xdist_workers", "-n", "auto",
                        "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "created: 1/1 worker" in r.stdout, r.stdout


def test_each_worker_gets_its_share_of_the_cpus():
    assert worker_threads(2, cpus=2) == 1 and worker_threads(4, cpus=16) == 4 and worker_threads(4, cpus=2) == 1


def test_workers_run_torch_with_their_share_of_threads(tmp_path):
    "Inside a worker, before any test imports torch, OMP_NUM_THREADS is set, and a notebook kernel or subprocess inherits it"
    pytest.importorskip("xdist")
    (tmp_path / "test_threads.py").write_text(
        "import os, subprocess, sys\n"
        "def test_threads():\n"
        "    import torch\n"
        "    n = int(os.environ['OMP_NUM_THREADS'])\n"
        f"    assert n == {worker_threads(2)}\n"   # two workers share this machine's CPUs
        "    assert torch.get_num_threads() == n, (torch.get_num_threads(), n)\n"
        "    child = subprocess.run([sys.executable, '-c', 'import torch; print(torch.get_num_threads())'], capture_output=True, text=True)\n"
        "    assert int(child.stdout) == n\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("OMP_NUM_THREADS", None)
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-p", "tests.xdist_workers", "-n", "2",
                        "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
