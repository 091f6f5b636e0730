"The `hierlearn` console script, as a user calls it"
import os, subprocess, sys
import pytest


def hierlearn(*args):
    return subprocess.run([sys.executable, "-c", "from hierlearn.cli import main; main()", *args], capture_output=True, text=True, timeout=600)


def test_run_list_names_the_experiments():
    r = hierlearn("run", "--list")
    assert r.returncode == 0, r.stderr
    assert "credit" in r.stdout


def test_misspelt_experiment_gets_did_you_mean():
    r = hierlearn("run", "hierachy")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == ("hierlearn: Unknown experiment 'hierachy'. Did you mean 'hierarchy'? "
                                                 "Valid choices: 'credit', 'samplers', 'generative', 'longtail', 'hierarchy', 'images'.")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args, message", [
    (("--seed", "-1"), "argument --seed: must be from 0 to 4294967295, got -1"),
    (("--seed", "1.5"), "argument --seed: must be a whole number, got '1.5'"),
    (("--out", "{file}"), "is a file, not a folder"),
    (("--out", "{file}/sub"), "cannot write the results to --out"),
    (("--out", "{readonly}"), "cannot write the results to --out"),
])
def test_bad_arguments_stop_with_one_line_and_no_traceback(tmp_path, args, message):
    afile = tmp_path/"results.csv"; afile.write_text("not a folder")
    readonly = tmp_path/"readonly"; readonly.mkdir(); readonly.chmod(0o500)
    if os.geteuid() == 0: readonly = "/sys/hierlearn_out"   # root writes anywhere but in sysfs
    r = hierlearn("run", "credit", *(a.format(file=afile, readonly=readonly) for a in args))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert message in r.stderr.strip().splitlines()[-1]
    assert not list(tmp_path.glob("**/credit_*"))          # it stopped before any work


def test_datasets_lists_sizes_and_imbalance_ratios_in_80_columns():
    r = hierlearn("datasets")
    assert r.returncode == 0, r.stderr
    assert "credit-default" in r.stdout and "keel/yeast6" in r.stdout
    assert "imbalance" in r.stdout.splitlines()[0]
    assert max(map(len, r.stdout.splitlines())) <= 80
    r = hierlearn("datasets", "keel/yeast6")
    assert r.returncode == 0 and "0: 1,449, 1: 35" in r.stdout and "licence" in r.stdout


def test_the_command_line_loads_no_deep_learning_until_an_experiment_runs():
    "`hierlearn --help` and `run --list` stay fast: the experiments' modules (torch, fastai) are imported when one runs"
    code = "import sys; from hierlearn.cli import main; main(['run', '--list']); print(sorted({'torch', 'fastai', 'sklearn'} & set(sys.modules)))"
    r = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]" and r.stderr == ""


def test_console_script_is_installed():
    import shutil
    exe = shutil.which("hierlearn")
    if exe is None: pytest.skip("package not installed with pip (pip install -e .)")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "run" in r.stdout
