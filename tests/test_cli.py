"The `hierlearn` console script, as a user calls it"
import subprocess, sys
import pytest


def hierlearn(*args):
    return subprocess.run([sys.executable, "-c", "from hierlearn.cli import main; main()", *args], capture_output=True, text=True, timeout=600)


def test_run_list_names_the_experiments():
    r = hierlearn("run", "--list")
    assert r.returncode == 0, r.stderr
    assert "credit" in r.stdout


def test_unknown_experiment_is_a_clear_error():
    r = hierlearn("run", "no-such-experiment")
    assert r.returncode != 0
    assert "choose one of" in r.stderr


def test_datasets_lists_sizes_and_imbalance_ratios():
    r = hierlearn("datasets")
    assert r.returncode == 0, r.stderr
    assert "credit-default" in r.stdout and "keel/yeast6" in r.stdout
    assert "imbalance_ratio" in r.stdout


def test_console_script_is_installed():
    import shutil
    exe = shutil.which("hierlearn")
    if exe is None: pytest.skip("package not installed with pip (pip install -e .)")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "run" in r.stdout
