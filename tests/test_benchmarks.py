"The benchmark scripts run at toy size and write what they promise: benchmarks/gpu_run.sh --quick and benchmarks/train_loop_speed.py --quick"
import os, subprocess, sys
from pathlib import Path
import pandas as pd, pytest

ROOT = Path(__file__).resolve().parents[1]
GPU_RUN, SPEED = ROOT / 'benchmarks' / 'gpu_run.sh', ROOT / 'benchmarks' / 'train_loop_speed.py'
SLOW = 'slow' in os.environ.get('HIERLEARN_TEST_FLAGS', '').split()
STEP_CSVS = {'longtail': 'longtail_results.csv', 'images': 'images_results.csv', 'tinyimagenet': 'tinyimagenet_results.csv',
             'tinyimagenet-lt': 'longtail_results.csv', 'tinyimagenet-resnet18': 'tinyimagenet_resnet18.csv',
             'throughput': 'longtail_throughput.csv'}
SPEED_COLUMNS = ['card', 'mode', 'path', 'threads', 'channels_last', 'compiled', 'images_per_s', 'images_per_s_min', 'images_per_s_max',
                 'fastai_to_plain', 'fastai_to_plain_min', 'fastai_to_plain_max', 'rounds', 'timed_steps', 'batch_size', 'widths',
                 'data', 'load_avg', 'cpus', 'torch', 'when']


def _env(**extra):
    "This checkout's hierlearn, no display, this interpreter; no data pointers unless given"
    env = {k: v for k, v in os.environ.items() if k not in ('HIERLEARN_CIFAR', 'HIERLEARN_TINYIMAGENET', 'OUT', 'QUICK')}
    return env | dict(PYTHONPATH=str(ROOT), MPLBACKEND='Agg', PYTHON=sys.executable) | extra


@pytest.mark.skipif(not SLOW, reason="six steps at toy size, about 3 minutes on 2 cores: set HIERLEARN_TEST_FLAGS='slow'")
def test_gpu_run_quick_writes_every_step(tmp_path):
    out = tmp_path / 'gpu_out'
    r = subprocess.run(['bash', str(GPU_RUN), str(out), '--quick'], env=_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for step, csv in STEP_CSVS.items(): assert len(pd.read_csv(out / step / csv)) > 0, f'{step} wrote no rows'
    timing = pd.read_csv(out / 'timing.tsv', sep='\t')
    assert sorted(timing.step) == sorted(STEP_CSVS) and (timing.status == 'done').all() and (timing.device == 'cpu').all()
    assert sum(line.startswith('gpu_run: ') and ' s (budget ' in line for line in r.stdout.splitlines()) == len(STEP_CSVS)   # a timing line per step
    lt = pd.read_csv(out / 'tinyimagenet-lt' / 'longtail_results.csv')
    assert set(lt.dataset) == {'tinyimagenet'} and sorted(lt.method) == ['balanced_softmax', 'ce', 'ldam_drw']
    r18 = pd.read_csv(out / 'tinyimagenet-resnet18' / 'tinyimagenet_resnet18.csv')
    assert {'CE', 'tree softmax', 'label embedding', 'cosine (one-hot)'} <= set(r18.method)
    speed = pd.read_csv(out / 'throughput' / 'longtail_throughput.csv')
    assert {'fastai', 'plain PyTorch'} <= set(speed.path) and (speed.device == 'cpu').all()


@pytest.mark.parametrize('args, env, message', [
    (['--bogus'], {}, 'unknown option --bogus'),
    (['a', 'b', '--quick'], {}, 'one output folder'),
    (['--cifar'], {}, '--cifar needs a path'),
    ([], {}, 'no CIFAR-10'),   # a full run without data says where to point
    (['--cifar', '/nowhere'], {}, 'no Tiny ImageNet'),
])
def test_gpu_run_refuses_bad_arguments(tmp_path, args, env, message):
    r = subprocess.run(['bash', str(GPU_RUN), *args], env=_env(OUT=str(tmp_path / 'o'), **env), capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_train_loop_speed_quick_columns(tmp_path):
    out = tmp_path / 'speed.csv'
    r = subprocess.run([sys.executable, str(SPEED), '--quick', '--out', str(out)], env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    df = pd.read_csv(out)
    assert list(df.columns) == SPEED_COLUMNS
    assert sorted(df.path) == sorted(['fastai', 'plain PyTorch', 'fastai DataLoader only', 'plain batches only'])
    assert (df.images_per_s > 0).all() and (df['mode'] == 'quick').all()
    ratio = df.set_index('path').fastai_to_plain
    assert 0 < ratio['fastai'] < 10 and pd.isna(ratio['plain PyTorch'])
