"The `hierlearn` console script, as a user calls it"
import os, subprocess, sys
import pytest, torch

import hierlearn
from hierlearn.cli import main
from hierlearn.data import CIFAR_ENV

COLUMNS = 100   # the widest line the command may print


def hierlearn_cli(*args, env=None, code="from hierlearn.cli import main; main()"):
    "Run the command in a fresh process; `env`: variables to set (None: delete) on top of this one's"
    environ = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None: environ.pop(k, None)
        else: environ[k] = v
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600, env=environ)


def lines(text): return text.replace("\r", "\n").splitlines()


def test_run_list_names_the_experiments():
    r = hierlearn_cli("run", "--list")
    assert r.returncode == 0, r.stderr
    assert "credit" in r.stdout


def test_run_list_lines_up_every_description():
    "The descriptions start in one column and their continuation lines under them, however long an experiment's name"
    r = hierlearn_cli("run", "--list")
    assert r.returncode == 0, r.stderr
    width = max(map(len, hierlearn.cli.EXPERIMENTS)) + 1
    for line in lines(r.stdout):
        assert line[width - 1] == " " and line[width] != " ", line


def test_version():
    r = hierlearn_cli("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"hierlearn {hierlearn.__version__}"


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("run", "--epochs", "0")])
def test_help_and_usage_fit_in_100_columns_on_a_wide_terminal(args):
    r = hierlearn_cli(*args, env={"COLUMNS": "240"})
    assert "usage: hierlearn" in r.stdout + r.stderr
    assert max(map(len, lines(r.stdout + r.stderr))) <= COLUMNS


def test_misspelt_experiment_gets_did_you_mean():
    r = hierlearn_cli("run", "hierachy")
    assert r.returncode == 1
    assert " ".join(r.stderr.split()) == ("hierlearn: Unknown experiment 'hierachy'. Did you mean 'hierarchy'? "
                                          "Valid choices: 'credit', 'samplers', 'generative', 'longtail', 'hierarchy', 'images', 'tinyimagenet', 'tinyimagenet-resnet18'.")
    assert max(map(len, lines(r.stderr))) <= COLUMNS


NOWHERE = "/nonexistent/cifar10.tgz"
NOT_THERE = f"${CIFAR_ENV} is {NOWHERE}, which does not exist"

# args ({file}, {readonly}, {empty}: paths the test makes), $HIERLEARN_CIFAR (None: unset), what the message says
BAD = [
    (("run", "credit", "--seed", "-1"), None, "argument --seed: must be from 0 to 4294967295, got -1"),
    (("run", "credit", "--seed", "1.5"), None, "argument --seed: must be a whole number, got '1.5'"),
    (("run", "credit", "--out", "{file}"), None, "is a file, not a folder"),
    (("run", "credit", "--out", "{file}/sub"), None, "cannot write the results to --out"),
    (("run", "credit", "--out", "{readonly}"), None, "cannot write the results to --out"),
    (("run", "credit", "--out", ""), None, "argument --out: must name a folder, got an empty path"),
    (("run", "credit", "--out", " "), None, "argument --out: must name a folder, got an empty path"),
    (("run", "longtail", "--epochs", "0"), None, "argument --epochs: must be at least 1, got 0"),
    (("run", "longtail", "--epochs", "-1"), None, "argument --epochs: must be at least 1, got -1"),
    (("run", "longtail", "--epochs", "two"), None, "argument --epochs: must be a whole number, got 'two'"),
    (("run", "longtail", "--ratio", "1"), None, "argument --ratio: must be larger than 1, got 1"),
    (("run", "credit", "--ratio", "10"), None, "--ratio is an option of `hierlearn run longtail`, not of `credit`"),
    (("run", "credit", "--data", "{empty}"), None, "--data is an option of `hierlearn run longtail`, `hierlearn run images`, `hierlearn run tinyimagenet` and `hierlearn run tinyimagenet-resnet18`, not of `credit`"),
    (("run", "images", "--data", NOWHERE), None, f"argument --data: '{NOWHERE}' does not exist"),
    (("run", "images", "--data", ""), None, "argument --data: '' does not exist"),
    (("run", "longtail", "--quick", "--data", NOWHERE), None, f"argument --data: '{NOWHERE}' does not exist"),
    (("run", "images"), NOWHERE, NOT_THERE),
    (("run", "images", "--quick"), NOWHERE, NOT_THERE),
    (("run", "longtail", "--quick"), NOWHERE, NOT_THERE),
    (("run", "images", "--quick", "--data", "{empty}"), None, "cifar10 has no train/ and test/ folders"),
    (("run", "longtail", "--quick", "--data", "{empty}"), None, "cifar10 has no train/ and test/ folders"),
    (("run", "images", "--quick"), "{empty}", "cifar10 has no train/ and test/ folders"),
    (("datasets", "ecolli"), None, "Unknown dataset 'ecolli'. Did you mean 'ecoli'? `hierlearn datasets` lists them all."),
]


@pytest.mark.parametrize("args, cifar, message", BAD)
def test_bad_arguments_stop_with_a_message_and_no_traceback(tmp_path, monkeypatch, capsys, args, cifar, message):
    "Each stops before any work, output folder included, with a message that fits in 100 columns"
    afile = tmp_path/"results.csv"; afile.write_text("not a folder")
    readonly = tmp_path/"readonly"; readonly.mkdir(); readonly.chmod(0o500)
    if os.geteuid() == 0: readonly = "/sys/hierlearn_out"   # root writes anywhere but in sysfs
    empty = tmp_path/"empty"; empty.mkdir()
    fill = lambda a: a.format(file=afile, readonly=readonly, empty=empty)
    args = [fill(a) for a in args]
    out = tmp_path/"out"
    if args[0] == "run" and "--out" not in args: args += ["--out", str(out)]
    if cifar is None: monkeypatch.delenv(CIFAR_ENV, raising=False)
    else: monkeypatch.setenv(CIFAR_ENV, fill(cifar))
    with pytest.raises(SystemExit) as stop: main(args)
    said = stop.value.code if isinstance(stop.value.code, str) else capsys.readouterr().err   # ours, or argparse's usage and error
    assert message in " ".join(said.split()), said
    assert max(map(len, lines(said))) <= COLUMNS
    assert not out.exists() and not list(tmp_path.glob("**/credit_*"))   # it stopped before any work


def test_a_message_is_printed_without_a_traceback():
    r = hierlearn_cli("run", "images", "--quick", env={CIFAR_ENV: NOWHERE})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert " ".join(r.stderr.split()).startswith(f"hierlearn: {NOT_THERE}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_stops_before_making_the_folder(tmp_path):
    r = hierlearn_cli("run", "credit", "--device", "cuda", "--out", str(tmp_path/"out"))
    assert r.returncode == 1 and "torch sees no CUDA GPU here; use --device cpu" in r.stderr
    assert not (tmp_path/"out").exists()


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    "A real SIGINT while the experiment runs (the runner sends it to its own process)"
    code = ("import os, signal, time; import hierlearn.cli as cli; "
            "signal.signal(signal.SIGINT, signal.default_int_handler); "   # a terminal's Ctrl-C, even where pytest was started with SIGINT ignored (nohup, &)
            "cli.Experiment.run = property(lambda self: lambda *a, **k: (os.kill(os.getpid(), signal.SIGINT), time.sleep(30))); "
            "cli.main()")
    r = hierlearn_cli("run", "credit", "--out", str(tmp_path), code=code)
    assert r.returncode == 130
    assert r.stderr.strip() == "hierlearn: interrupted; run the same command again to resume"


def test_datasets_lists_sizes_and_imbalance_ratios_in_80_columns():
    r = hierlearn_cli("datasets")
    assert r.returncode == 0, r.stderr
    assert "credit-default" in r.stdout and "keel/yeast6" in r.stdout
    assert "imbalance" in r.stdout.splitlines()[0]
    assert max(map(len, r.stdout.splitlines())) <= 80
    table = r.stdout.split("\n\n")[0].splitlines()
    kind_column = {len(line) - len(line[len(line.split()[0]):].lstrip()) for line in table}
    assert len(kind_column) == 1                 # the long names (keel/led7digit-0-2-4-5-6-7-8-9_vs_1) keep the columns aligned
    r = hierlearn_cli("datasets", "keel/yeast6")
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
