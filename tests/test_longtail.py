"""The CIFAR-LT and Tiny-ImageNet-LT paths of `hierlearn.longtail` and `hierlearn.experiments.longtail` on tiny fixtures, on the CPU."""
import os, subprocess, sys
from pathlib import Path

import numpy as np, pandas as pd, pytest, torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from fastai.callback.core import Callback
from fastai.torch_core import set_seed

from hierlearn.losses import ClassBalancedLoss, LDAMLoss, DRWCallback
from hierlearn.data import CIFAR_ENV, cifar_path, write_tiny_imagenet_fixture
from hierlearn.longtail import (LONGTAIL_ANCHORS, LONGTAIL_METHODS, FIXTURE_DATA, ImagePool, NormedLinear, WarmupStepSchedule,
                                cifar_lt_dls, epoch_repeats, image_dls, longtail_learner, pad_crop_flip, resnet32, small_resnet,
                                write_cifar_fixture, tinyimagenet_lt_dls, tinyimagenet_schedule, long_tailed_dls)
from hierlearn.experiments.longtail import run_longtail
from hierlearn.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "A folder holding a tiny cifar10/ (10 classes, 24 training and 4 test images each) and cifar100/ (5 classes)"
    base = tmp_path_factory.mktemp('cifar')
    write_cifar_fixture(base / 'cifar10', n_train=24, n_test=4)
    write_cifar_fixture(base / 'cifar100', name='cifar100', n_train=6, n_test=2, n_classes=5)
    return base


@pytest.fixture(scope='module')
def dls(data):
    return cifar_lt_dls('cifar10', imbalance_ratio=8, batch_size=32, device='cpu', data=data)


def n_params(m): return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('n_classes', [10, 100])
def test_resnet32_size_and_output(n_classes):
    model = resnet32(n_classes)
    assert n_params(model) == 464_154 + 65 * (n_classes - 10)          # 0.46 M for CIFAR-10 (He et al. 2016)
    assert model(torch.randn(3, 3, 32, 32)).shape == (3, n_classes)
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 31
    cos = resnet32(n_classes, normed=True)
    assert isinstance(cos[-1], NormedLinear)
    z = cos.eval()(torch.randn(3, 3, 32, 32))
    assert z.shape == (3, n_classes) and z.abs().max() <= 1 + 1e-5


@pytest.mark.parametrize('blocks, widths', [(1, (16, 32, 64)), (2, (8, 16, 32)), (5, (16, 32, 64))])
def test_small_resnet_is_a_body_of_pooled_features(blocks, widths):
    body = small_resnet(widths, blocks)
    assert body(torch.zeros(3, 3, 32, 32)).shape == (3, widths[-1])
    assert sum(isinstance(m, nn.Conv2d) for m in body.modules()) == 1 + 2 * 3 * blocks


def test_image_dls_repeat_small_sets_and_keep_the_true_counts(data):
    pool = ImagePool(data / 'cifar10', FIXTURE_DATA)
    train, test = pool.positions(test=False), pool.positions(test=True)
    dls = image_dls(pool, train[::8], test, batch_size=16, min_epoch=100, device='cpu')
    assert dls.class_counts.tolist() == [3] * 10 and len(dls.train_ds) == 30 * epoch_repeats(30, 100) == 120
    xb, yb = dls.train.one_batch()
    assert xb.shape == (16, 3, 32, 32) and xb.dtype == torch.float32 and pool._loaded.sum() == 30 + len(test)
    assert repr(pool).startswith('ImagePool(generated fixture: 240 training and 40 test images')
    with pytest.raises(ValueError, match='need training and test images, got 0 and 40'): image_dls(pool, [], test)


def test_normed_linear_is_a_cosine():
    lin = NormedLinear(8, 3)
    x = torch.randn(5, 8)
    assert torch.allclose(lin(x), F.cosine_similarity(x[:, None], lin.weight[None], dim=-1), atol=1e-6)
    assert torch.allclose(lin(3 * x), lin(x), atol=1e-6)                  # scale-free in the features


@pytest.mark.parametrize('ratio,profile', [(8, 'exp'), (3, 'exp'), (4, 'step'), (1, 'exp')])
def test_long_tail_counts_follow_the_ratio(data, ratio, profile):
    d = cifar_lt_dls(data / 'cifar10', imbalance_ratio=ratio, profile=profile, device='cpu')
    counts = d.train_ds.class_counts
    if profile == 'exp': expected = [int(24 * (1 / ratio) ** (k / 9)) for k in range(10)]
    else: expected = [24] * 5 + [int(24 / ratio)] * 5
    assert counts.tolist() == expected
    assert counts[0] / counts[-1] == pytest.approx(ratio, rel=0.15)
    assert d.valid_ds.class_counts.tolist() == [4] * 10                  # the whole, balanced test set
    assert d.vocab[0] == 'airplane' and d.vocab[-1] == 'truck'            # class 0 is the head, as in the LDAM-DRW code


def test_cifar100_classes_in_official_order(data):
    d = cifar_lt_dls('cifar100', imbalance_ratio=3, device='cpu', data=data)
    assert d.vocab == ['apple', 'aquarium_fish', 'baby', 'bear', 'beaver']
    assert d.train_ds.class_counts[0] == 6 and d.train_ds.class_counts[-1] == 2


def test_batches_are_normalised_and_only_training_is_augmented(dls):
    xv, yv = dls.valid.one_batch()
    raw = dls.valid_ds.images[:len(xv)].float() / 255
    mean, std = (torch.tensor(v)[:, None, None] for v in ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)))
    assert torch.allclose(xv, (raw - mean) / std, atol=1e-5)
    torch.manual_seed(0)
    xt, yt = dls.train.one_batch()
    assert xt.shape[1:] == (3, 32, 32) and xt.dtype == torch.float32 and yt.dtype == torch.int64


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_pad_crop_flip_is_a_shifted_maybe_mirrored_window(n, pad, seed):
    x = torch.rand(n, 2, 5, 7) + 1                                       # no zeros in the input
    torch.manual_seed(seed)
    y = pad_crop_flip(x, pad)
    assert y.shape == x.shape
    xp = F.pad(x, (pad,) * 4)
    for i in range(n):
        windows = [w for dy in range(2 * pad + 1) for dx in range(2 * pad + 1) for w in
                   (xp[i, :, dy:dy + 5, dx:dx + 7], xp[i, :, dy:dy + 5, dx:dx + 7].flip(-1))]
        assert any(torch.equal(y[i], w) for w in windows)


@pytest.mark.parametrize('method', LONGTAIL_METHODS)
def test_every_method_trains_an_epoch_on_the_cpu(dls, method):
    set_seed(0)
    learn = longtail_learner(dls, method, epochs=1)
    with learn.no_bar(), learn.no_logging(): learn.fit_warmup_step(1)
    train_loss, valid_loss, acc = learn.recorder.values[-1][:3]
    assert np.isfinite([train_loss, valid_loss, acc]).all()
    assert next(learn.model.parameters()).device.type == 'cpu'
    assert not any(type(cb).__name__ in ('MixedPrecision', 'ChannelsLast') for cb in learn.cbs)   # fp32, NCHW on the CPU
    assert isinstance(learn.model[-1], NormedLinear) == (method == 'ldam_drw')


def test_learner_rejects_bad_settings(dls):
    with pytest.raises(ValueError, match='method must be one of'): longtail_learner(dls, 'ldam')
    with pytest.raises(ValueError, match='needs CUDA'): longtail_learner(dls, precision='fp16')
    with pytest.raises(ValueError, match="'fp32', 'fp16' or 'bf16'"): longtail_learner(dls, precision='fp8')


class _Log(Callback):
    order = 50
    def before_fit(self): self.weights, self.lrs = [], []
    def before_train(self): self.weights.append(getattr(self.learn.loss_func, 'weight', None))
    def after_batch(self):
        if self.training: self.lrs.append((self.epoch, self.opt.hypers[0]['lr']))


def test_drw_switches_at_its_epoch(dls):
    set_seed(0)
    learn = longtail_learner(dls, 'ldam_drw', epochs=5)
    drw = [cb for cb in learn.cbs if isinstance(cb, DRWCallback)]
    assert len(drw) == 1 and drw[0].drw_epoch == 4                         # 80 % of the epochs, as 160 of 200
    log = _Log()
    with learn.no_bar(), learn.no_logging(): learn.fit_warmup_step(5, cbs=log)
    assert [w is None for w in log.weights] == [True, True, True, True, False]
    assert torch.allclose(log.weights[-1], ClassBalancedLoss.effective_weights(dls.train_ds.class_counts, 0.9999))
    assert learn.loss_func.weight is None                                  # switched off after the fit
    assert isinstance(learn.loss_func, LDAMLoss) and learn.loss_func.s == 30.


def test_schedule_values_at_given_epochs():
    s = WarmupStepSchedule(0.1, 200)
    expected = {0: 0.02, 1: 0.04, 2: 0.06, 3: 0.08, 4: 0.1, 5: 0.1, 100: 0.1, 159: 0.1, 160: 1e-3, 179: 1e-3, 180: 1e-5, 199: 1e-5}
    for epoch, lr in expected.items():
        assert s.lr_at(epoch) == pytest.approx(lr)
        assert s((epoch + 0.5) / 200) == pytest.approx(lr)                  # mid-epoch position
        assert s(epoch / 200) == pytest.approx(lr)                          # first batch of the epoch
    with pytest.raises(ValueError, match='warmup'): WarmupStepSchedule(0.1, 3, warmup=4)
    with pytest.raises(ValueError, match='milestones'): WarmupStepSchedule(0.1, 10, milestones=(9, 5))


def test_fit_warmup_step_sets_the_rate_per_epoch(dls):
    set_seed(0)
    learn = longtail_learner(dls, 'ce', epochs=6)
    log = _Log()
    with learn.no_bar(), learn.no_logging(): learn.fit_warmup_step(6, lr=0.2, warmup=2, milestones=(3, 5), gamma=0.1, cbs=log)
    by_epoch = pd.DataFrame(log.lrs, columns=['epoch', 'lr']).groupby('epoch').lr.agg(['min', 'max', 'size'])
    assert (by_epoch['size'] == len(dls.train)).all()
    assert np.allclose(by_epoch['min'], by_epoch['max'])                    # constant within an epoch
    assert np.allclose(by_epoch['min'], [0.1, 0.2, 0.2, 0.02, 0.02, 0.002])


def test_run_longtail_quick_writes_its_files(data, tmp_path):
    out = tmp_path / 'longtail'
    res = run_longtail(out, quick=True, device='cpu', data=data, epochs=2)
    assert sorted(p.name for p in out.iterdir()) == ['longtail_history.csv', 'longtail_results.csv', 'longtail_results.png']
    assert res[['dataset', 'imbalance_ratio', 'method']].values.tolist() == [['cifar10', 10, 'ce'], ['cifar10', 10, 'ldam_drw']]
    assert res.anchor.tolist() == [86.4, 88.2] and (res.data == str(data / 'cifar10')).all()   # given data: compared with CIFAR's figures
    assert res.top1.between(0, 100).all() and (res.train_images == dls_count(data, 10)).all()
    hist = pd.read_csv(out / 'longtail_history.csv')
    assert len(hist) == 4 and set(hist.columns) >= {'epoch', 'train_loss', 'top1', 'many', 'medium', 'few'}
    again = run_longtail(out, quick=True, device='cpu', data=data, epochs=2)      # resumes: nothing left to train
    assert len(again) == 2 and len(pd.read_csv(out / 'longtail_history.csv')) == 4


def dls_count(data, ratio): return int(sum(int(24 * (1 / ratio) ** (k / 9)) for k in range(10)))


def test_missing_data_gives_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match='has no train/ and test/ folders'): cifar_path('cifar10', data=tmp_path)
    monkeypatch.setenv(CIFAR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'\$HIERLEARN_CIFAR is .* Point \$HIERLEARN_CIFAR at the folder'):
        cifar_lt_dls('cifar100')
    with pytest.raises(FileNotFoundError, match='has no train/ and test/'): run_longtail(tmp_path / 'out', device='cpu', epochs=1)
    with pytest.raises(FileNotFoundError, match='is not an unpacked CIFAR folder'): cifar_lt_dls(tmp_path / 'nowhere')
    with pytest.raises(ValueError, match="Valid choices: 'cifar10', 'cifar100'"): cifar_path('svhn')


def test_anchors_cover_every_method():
    assert set(LONGTAIL_ANCHORS.method) == set(LONGTAIL_METHODS)
    c10 = LONGTAIL_ANCHORS.query("dataset == 'cifar10' and imbalance_ratio == 100").set_index('method').top1
    assert (c10['ce'], c10['ldam_drw']) == (70.4, 77.0)


def test_cli_parses_the_documented_options(data, tmp_path):
    main(['run', 'longtail', '--dataset', 'cifar10', '--ratio', '5', '--method', 'ce', '--epochs', '1', '--data', str(data),
          '--out', str(tmp_path), '--device', 'cpu'])
    res = pd.read_csv(tmp_path / 'longtail_results.csv')
    assert res[['imbalance_ratio', 'method', 'epochs']].values.tolist() == [[5, 'ce', 1]]
    with pytest.raises(SystemExit): main(['run', 'longtail', '--method', 'nope'])


def test_python_m_hierlearn_cli_runs_longtail(data, tmp_path):
    "The documented module entry point (what `accelerate launch -m hierlearn.cli run longtail` runs in each process)"
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')])), 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-m', 'hierlearn.cli', 'run', 'longtail', '--method', 'ce', '--ratio', '4', '--epochs', '1',
                        '--dataset', 'cifar10', '--data', str(data), '--out', str(tmp_path), '--device', 'cpu'],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / 'longtail_results.csv').exists() and 'cifar10-LT ρ=4 ce' in r.stdout


_NUMBERS = ['top1', 'many', 'medium', 'few', 'best_top1']


def _run(out, data, methods):
    return run_longtail(out, quick=True, device='cpu', data=data, epochs=2, methods=methods)


def _numbers(res, method): return res.set_index('method').loc[method, _NUMBERS].tolist()


def _history(out):
    h = pd.read_csv(out / 'longtail_history.csv')
    return h.sort_values(['method', 'epoch']).drop(columns=[]).reset_index(drop=True)[['method', 'epoch', 'train_loss', 'valid_loss'] + _NUMBERS[:4]]


@pytest.fixture(scope='module')
def clean(data, tmp_path_factory):
    "An uninterrupted quick run of CE then LDAM-DRW: the numbers every other order, resume and repair must give"
    out = tmp_path_factory.mktemp('clean')
    return out, _run(out, data, ('ce', 'ldam_drw'))


def test_a_run_does_not_depend_on_what_ran_before_it(data, clean, tmp_path):
    out, both = clean
    alone = _run(tmp_path / 'alone', data, ('ldam_drw',))
    np.testing.assert_equal(_numbers(alone, 'ldam_drw'), _numbers(both, 'ldam_drw'))
    pd.testing.assert_frame_equal(_history(tmp_path / 'alone'), _history(out).query("method == 'ldam_drw'").reset_index(drop=True))


def test_a_resumed_run_gives_the_numbers_of_an_uninterrupted_one(data, clean, tmp_path):
    out, both = clean
    _run(tmp_path, data, ('ce',))                                         # interrupted after CE ...
    resumed = _run(tmp_path, data, ('ce', 'ldam_drw'))                    # ... and resumed: trains LDAM-DRW only
    for m in ('ce', 'ldam_drw'): np.testing.assert_equal(_numbers(resumed, m), _numbers(both, m))
    pd.testing.assert_frame_equal(_history(tmp_path), _history(out))


def test_a_run_leaves_the_callers_random_state_alone(data, tmp_path):
    import random
    random.seed(1); np.random.seed(1); torch.manual_seed(1)
    before = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    flags = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    run_longtail(tmp_path, quick=True, device='cpu', data=data, epochs=1, methods=('ce',))
    assert random.getstate() == before[0] and np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == flags


def test_a_truncated_results_file_is_named_and_its_run_redone(data, clean, tmp_path):
    out, both = clean
    for f in ('longtail_results.csv', 'longtail_history.csv'): (tmp_path / f).write_bytes((out / f).read_bytes())
    text = (tmp_path / 'longtail_results.csv').read_text()
    (tmp_path / 'longtail_results.csv').write_text(text[:text.rindex('\n', 0, len(text) - 1) + 40])   # LDAM-DRW's row cut short
    with pytest.warns(UserWarning, match=str(tmp_path / 'longtail_results.csv')):
        again = _run(tmp_path, data, ('ce', 'ldam_drw'))
    assert again.method.tolist() == ['ce', 'ldam_drw']
    for m in ('ce', 'ldam_drw'): np.testing.assert_equal(_numbers(again, m), _numbers(both, m))
    assert pd.read_csv(tmp_path / 'longtail_results.csv').notna()[['top1', 'data']].all().all()
    pd.testing.assert_frame_equal(_history(tmp_path), _history(out))


@pytest.mark.parametrize('damage', ['dataset,imbalance_ra', 'garbage "unclosed\n1,2\n', ''])
def test_an_unreadable_results_file_is_named_and_every_run_redone(data, clean, tmp_path, damage):
    out, both = clean
    (tmp_path / 'longtail_results.csv').write_text(damage)
    with pytest.warns(UserWarning, match=str(tmp_path / 'longtail_results.csv')):
        again = _run(tmp_path, data, ('ce',))
    np.testing.assert_equal(_numbers(again, 'ce'), _numbers(both, 'ce'))
    assert len(pd.read_csv(tmp_path / 'longtail_results.csv')) == 1


def test_results_are_written_whole(data, tmp_path, monkeypatch):
    "An interrupted write leaves the previous file, not half a file (and no temporary file behind)"
    _run(tmp_path, data, ('ce',))
    before = (tmp_path / 'longtail_results.csv').read_bytes()
    def fail(self, *a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(pd.DataFrame, 'to_csv', lambda self, path, *a, **k: (Path(path).write_text('half'), fail(self)))
    with pytest.raises(KeyboardInterrupt): _run(tmp_path, data, ('ce', 'ldam_drw'))
    assert (tmp_path / 'longtail_results.csv').read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['longtail_history.csv', 'longtail_results.csv', 'longtail_results.png']


def test_the_data_are_part_of_a_runs_key(data, tmp_path, monkeypatch):
    "A quick run on the fixture, then on data given: the second trains again, and each row names its data"
    monkeypatch.delenv(CIFAR_ENV, raising=False)
    run_longtail(tmp_path, quick=True, device='cpu', epochs=1, methods=('ce',))
    res = run_longtail(tmp_path, quick=True, device='cpu', epochs=1, methods=('ce',), data=data)
    assert res.data.tolist() == ['generated fixture', str((data / 'cifar10').resolve())]
    assert res.top1.notna().all() and np.isnan(res.anchor.iloc[0])
    assert len(pd.read_csv(tmp_path / 'longtail_history.csv')) == 2
    again = run_longtail(tmp_path, quick=True, device='cpu', epochs=1, methods=('ce',), data=data)   # nothing left to train
    pd.testing.assert_frame_equal(again, pd.read_csv(tmp_path / 'longtail_results.csv'))


NOWHERE = '/nonexistent/cifar10.tgz'

# quick, data, $HIERLEARN_CIFAR ({empty}: a folder without cifar10/; None: unset), other arguments, the error raised before any work
BAD = [
    (True, None, NOWHERE, {}, FileNotFoundError),          # pointed at but not there: an error, never the fixture
    (False, None, NOWHERE, {}, FileNotFoundError),
    (True, NOWHERE, None, {}, FileNotFoundError),
    (True, '{empty}', None, {}, FileNotFoundError),
    (True, None, '{empty}', {}, FileNotFoundError),
    (True, None, None, dict(epochs=-1), ValueError),
    (True, None, None, dict(methods=('ce', 'nope')), ValueError),
]


@pytest.mark.parametrize('quick, given, cifar, kwargs, error', BAD)
def test_bad_data_and_arguments_stop_before_any_work(tmp_path, monkeypatch, quick, given, cifar, kwargs, error):
    (tmp_path / 'empty').mkdir()
    fill = lambda p: p if p is None else p.format(empty=tmp_path / 'empty')
    if cifar is None: monkeypatch.delenv(CIFAR_ENV, raising=False)
    else: monkeypatch.setenv(CIFAR_ENV, fill(cifar))
    with pytest.raises(error): run_longtail(tmp_path / 'out', quick=quick, device='cpu', data=fill(given), **kwargs)
    assert not (tmp_path / 'out').exists()


# Tiny-ImageNet-LT: the same runner with ResNet-18 at 64 px and Cao et al.'s Tiny ImageNet schedule

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A Tiny ImageNet-format fixture: 5 classes of 64×64 JPEGs, 12 training and 2 validation images each (one greyscale per class)"
    return write_tiny_imagenet_fixture(tmp_path_factory.mktemp('tiny') / 'tiny-imagenet-200', n_classes=5, n_train=12, n_val=2, n_grey=1)


def test_tinyimagenet_lt_dls_cut_the_tail_and_pad_by_an_eighth(tiny):
    d = tinyimagenet_lt_dls(tiny, imbalance_ratio=10, batch_size=8, device='cpu')
    assert d.train_ds.class_counts.tolist() == [int(12 * 0.1 ** (k / 4)) for k in range(5)]
    assert len(d.valid_ds) == 10 and d.train_ds.images.shape[1:] == (3, 64, 64)
    assert d.train.after_batch.fs[1].pad == 8
    assert tinyimagenet_lt_dls(tiny, imbalance_ratio=10, size=32, device='cpu').train.after_batch.fs[1].pad == 4


def test_resnet18_is_chosen_for_64_pixel_images_and_takes_the_drw_epoch(tiny):
    d = tinyimagenet_lt_dls(tiny, imbalance_ratio=10, batch_size=8, device='cpu')
    learn = longtail_learner(d, 'ldam_drw', epochs=8, drw_epoch=6)
    assert isinstance(learn.model[-1], NormedLinear) and learn.model[-1].weight.shape == (5, 512)
    assert [cb.drw_epoch for cb in learn.cbs if isinstance(cb, DRWCallback)] == [6]
    assert isinstance(longtail_learner(d, 'ce', arch='resnet32').model[-1], nn.Linear)   # asked for by name
    with pytest.raises(ValueError, match='arch'): longtail_learner(d, 'ce', arch='vgg')
    assert tinyimagenet_schedule(120) == dict(warmup=0, milestones=(90,), gamma=0.1)     # ÷ 10 at epoch 90 of 120


def test_run_longtail_on_tinyimagenet(tiny, tmp_path, monkeypatch):
    monkeypatch.delenv('HIERLEARN_TINYIMAGENET', raising=False)
    res = run_longtail(tmp_path / 'given', quick=True, device='cpu', data=tiny, datasets=('tinyimagenet',), methods=('ce',), epochs=1)
    assert res[['dataset', 'imbalance_ratio', 'method', 'epochs']].values.tolist() == [['tinyimagenet', 10, 'ce', 1]]
    assert res.data.item() == str(tiny.resolve()) and res.train_images.item() == sum(int(12 * 0.1 ** (k / 4)) for k in range(5))
    with pytest.raises(ValueError, match="unknown datasets"): run_longtail(tmp_path / 'bad', quick=True, datasets=('svhn',))
    assert not (tmp_path / 'bad').exists()


def test_long_tailed_dls_needs_only_codes_and_an_image_source():
    "The cut is made on the codes: blank images stand in for the pixels, and no folder is needed"
    codes, is_test = np.repeat(np.arange(4), 12), np.tile([False] * 10 + [True] * 2, 4)
    d = long_tailed_dls(lambda idx: np.zeros((len(idx), 1, 1, 3), np.uint8), codes, is_test, list('abcd'), 10, device='cpu')
    assert d.train_ds.class_counts.tolist() == [int(10 * 0.1 ** (k / 3)) for k in range(4)] and len(d.valid_ds) == 8
    with pytest.raises(ValueError, match=r"\['d'\] have test images but no training images"):
        long_tailed_dls(lambda idx: np.zeros((len(idx), 1, 1, 3), np.uint8), codes, is_test | (codes == 3), list('abcd'), device='cpu')
