"""The CIFAR-10 image experiment (`hierlearn.experiments.images`) on a generated fixture: determinism, resuming, workers, the losses."""
import inspect, json, os, re, warnings
from pathlib import Path

import numpy as np, pandas as pd, pytest, torch

from hierlearn.data import CIFAR10_CLASSES, CIFAR_ENV
from hierlearn.hierarchy import cifar10_hierarchy
from hierlearn.ingrain import hier_loss
from hierlearn.losses import BalancedSoftmaxLoss
import hierlearn.experiments.images as im
from hierlearn.experiments.images import (tail_adjusted_loss, image_pool, images_grid, run_images, image_learner,
                                          paired_vs_ce, data_efficiency, ce_images_needed, grid_plan, projected_minutes)

REAL_ARCHIVE = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'cifar10.tgz'
TINY = dict(sizes=(10,), ratios=(), methods=('CE', 'HXE'), seeds=(0,), epochs=1, min_epoch=64, test_per_class=10, batch_size=32,
            tails=False, control=False, device='cpu')
TIMING = ['seconds', 'train_seconds', 'cpu_seconds', 'images_per_s']


@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    return image_pool(fixture=True, fixture_dir=tmp_path_factory.mktemp('fixture'), n_train=30, n_test=10)


def _numbers(res):
    return res.drop(columns=TIMING).sort_values(['regime', 'images_per_class', 'imbalance_ratio', 'seed', 'method']).reset_index(drop=True)


def test_the_registry_can_call_it():
    assert list(inspect.signature(run_images).parameters) == ['out', 'quick', 'seed', 'device', 'data']


def test_a_run_is_fixed_by_its_key_whatever_ran_before(pool):
    a = images_grid(pool, **TINY)
    b = images_grid(pool, **TINY | dict(methods=('HXE', 'CE')))                  # the other order
    torch.manual_seed(123); np.random.seed(5)                                    # and other global states
    c = images_grid(pool, **TINY | dict(methods=('CE', 'HXE', 'soft labels')))   # and a method more before... nothing changes
    pd.testing.assert_frame_equal(_numbers(a), _numbers(b))
    pd.testing.assert_frame_equal(_numbers(a), _numbers(c[c.method != 'soft labels']))


def test_the_callers_random_state_and_threads_survive(pool):
    torch.manual_seed(7); threads = torch.get_num_threads()
    expected = torch.rand(3)
    torch.manual_seed(7)
    images_grid(pool, **TINY)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def test_resume_trains_only_what_is_missing(pool, tmp_path, monkeypatch):
    first = images_grid(pool, cache_dir=tmp_path, **TINY)
    files = sorted(tmp_path.glob('*.json'))
    assert len(files) == 2
    files[1].unlink()                                   # an interrupted grid: one run missing ...
    files[0].write_text(files[0].read_text()[:20])      # ... and one cache file cut short
    calls = []
    real = im.train_and_score
    monkeypatch.setattr(im, 'train_and_score', lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    with pytest.warns(UserWarning, match='unreadable cache file'):
        again = images_grid(pool, cache_dir=tmp_path, **TINY)
    assert sorted(calls) == ['CE', 'HXE']
    pd.testing.assert_frame_equal(_numbers(first), _numbers(again))
    calls.clear()
    images_grid(pool, cache_dir=tmp_path, **TINY)
    assert calls == []                                  # everything cached now


# the cache file names of the TINY grid's two runs on the fixture, as the 216 finished CIFAR runs were named: a change to
# how a run's key is computed would orphan every run already finished, so these names are fixed here
TINY_CACHE = {'CE': 'balanced-10-ce-wordnet-no-tail-s0-6f1636b3.json', 'HXE': 'balanced-10-hxe-wordnet-no-tail-s0-7b422b0a.json'}


def test_a_finished_runs_cache_file_is_read_back_not_recomputed(pool, tmp_path, monkeypatch):
    assert len(pool) == 400                             # part of the key: the fixture's size
    for method, name in TINY_CACHE.items():             # cache files in the format a finished run writes (its rows, `value` and all)
        rows = [dict(data=pool.label, regime='balanced', value=10, seed=0, method=method, base=method, tree='wordnet', tail_loss='',
                     decode='argmax', top1=11. if method == 'CE' else 22., mistake_severity=2., seconds=1., train_seconds=1.,
                     cpu_seconds=1., images_per_s=1.)]
        (tmp_path / name).write_text(json.dumps(rows))
    monkeypatch.setattr(im, 'train_and_score', lambda *a, **k: pytest.fail(f'trained {a[1]} again instead of reading its cache file'))
    res = images_grid(pool, cache_dir=tmp_path, **TINY)
    assert res.set_index('method').top1.to_dict() == {'CE': 11., 'HXE': 22.}
    assert list(res.columns[:4]) == ['data', 'regime', 'images_per_class', 'imbalance_ratio'] and res.images_per_class.tolist() == [10, 10]
    assert res.imbalance_ratio.isna().all() and 'value' not in res
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(TINY_CACHE.values())   # nothing new written


def test_two_workers_give_the_numbers_of_one(pool, tmp_path):
    kw = TINY | dict(sizes=(10, 20))
    one = images_grid(pool, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        two = images_grid(pool, n_jobs=2, cache_dir=tmp_path, **kw)
    pd.testing.assert_frame_equal(_numbers(one), _numbers(two))
    assert len(list(tmp_path.glob('*.json'))) == 4


def test_quick_run_writes_everything(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(CIFAR_ENV, raising=False)
    monkeypatch.setattr(im, 'image_pool', lambda data, fixture, **k: image_pool(data, fixture, fixture_dir=tmp_path / 'fx', **k))
    res = run_images(tmp_path / ('a-long-folder-name-for-the-results-of-the-quick-run-' * 2) / 'out', quick=True, device='cpu')
    said = capsys.readouterr().out
    assert said.startswith('quick mode without data') and max(map(len, said.replace('\r', '\n').splitlines())) <= 100
    out = tmp_path / ('a-long-folder-name-for-the-results-of-the-quick-run-' * 2) / 'out'
    assert {'images_results.csv', 'images_vs_ce.csv', 'images_efficiency.csv', 'images_curves.png'} <= {p.name for p in out.iterdir()}
    assert set(res.data) == {'generated fixture'} and len(list((out / 'cache').glob('*.json'))) == 13
    assert (res.tree == 'control').sum() == 3 and set(res.tail_loss) == {'', 'balanced softmax', 'LDAM-DRW'}
    back = pd.read_csv(out / 'images_results.csv')
    assert len(back) == len(res) and np.allclose(back.top1, res.top1)


class _Trains(Exception): "Raised where `run_images` would start training, carrying the label of the data it would train on"


NOWHERE = '/nonexistent/cifar10.tgz'

# quick, data, $HIERLEARN_CIFAR ({empty}: a folder without cifar10/, {png}: one holding a PNG cifar10/, None: unset),
# the label of the data trained on or the error raised before any work
DATA = [
    (True, None, None, 'generated fixture'),             # the one case for the fixture
    (True, None, '{png}', 'CIFAR-10'),                   # a quick run given data trains on them
    (True, '{png}', None, 'CIFAR-10'),
    (False, '{png}', None, 'CIFAR-10'),
    (True, None, NOWHERE, FileNotFoundError),            # data pointed at but not there: an error, never the fixture
    (False, None, NOWHERE, FileNotFoundError),
    (True, NOWHERE, None, FileNotFoundError),
    (True, '{empty}', None, FileNotFoundError),
    (True, None, '{empty}', FileNotFoundError),
    (False, None, '{empty}', FileNotFoundError),
]


@pytest.mark.parametrize('quick, data, cifar, trains_on', DATA)
def test_the_fixture_only_for_a_quick_run_given_no_data(tmp_path, monkeypatch, quick, data, cifar, trains_on):
    from hierlearn.longtail import write_cifar_fixture
    write_cifar_fixture(tmp_path / 'png' / 'cifar10', n_train=2, n_test=1)
    (tmp_path / 'empty').mkdir()
    fill = lambda p: p if p is None else p.format(png=tmp_path / 'png', empty=tmp_path / 'empty')
    if cifar is None: monkeypatch.delenv(CIFAR_ENV, raising=False)
    else: monkeypatch.setenv(CIFAR_ENV, fill(cifar))
    def grid(pool, **kwargs): raise _Trains(pool.label)
    monkeypatch.setattr(im, 'images_grid', grid)
    out = tmp_path / 'out'
    if isinstance(trains_on, str):
        with pytest.raises(_Trains, match=f'^{re.escape(trains_on)}$'): run_images(out, quick=quick, device='cpu', data=fill(data))
    else:
        with pytest.raises(trains_on): run_images(out, quick=quick, device='cpu', data=fill(data))
        assert not out.exists()                          # stopped before any work


def test_bad_arguments_are_named(pool):
    with pytest.raises(ValueError, match="unknown methods \\['focal'\\]"): images_grid(pool, **TINY | dict(methods=('CE', 'focal')))
    with pytest.raises(ValueError, match="must include 'CE'"): images_grid(pool, **TINY | dict(methods=('HXE',)))
    with pytest.raises(ValueError, match='unknown best method'): images_grid(pool, **TINY | dict(best='focal'))
    with pytest.raises(ValueError, match='smallest class'): images_grid(pool, **TINY | dict(sizes=(31,)))


@pytest.mark.parametrize('method', ['hxe', 'soft_labels', 'hier_smoothing', 'tree_softmax', 'multilevel', 'embedding'])
@pytest.mark.parametrize('mode', ['balanced_softmax', 'ldam'])
def test_tail_adjusted_losses_train_and_predict_unshifted(method, mode):
    counts = np.array([500, 300, 180, 108, 64, 38, 23, 14, 8, 5])
    base = hier_loss(method, cifar10_hierarchy(), CIFAR10_CLASSES)
    loss = tail_adjusted_loss(base, counts, mode)
    x = torch.randn(12, base.n_out, requires_grad=True)
    y = torch.arange(12) % 10
    value = loss(x, y)
    value.backward()
    assert torch.isfinite(value) and x.grad.abs().sum() > 0
    scale = 30. if mode == 'ldam' and method != 'embedding' else 1.
    assert torch.allclose(loss.activation(x.detach()), base.activation(scale * x.detach()))
    loss.weight = torch.ones(10) * 2                     # DRW's weights: a weighted mean, so uniform weights change nothing
    assert torch.allclose(loss(x, y), value)


def test_multilevel_targets_and_shift_count_the_images_below():
    counts = np.arange(1, 11) * 10
    base = hier_loss('multilevel', cifar10_hierarchy(), CIFAR10_CLASSES)
    loss = tail_adjusted_loss(base, counts)
    assert loss.targets.sum(1).tolist() == [4.] * 10   # one target per level 1-4 (a shallow leaf stands for itself below its depth)
    n_level1 = dict(zip(base.levels[0], loss.shift[:2].exp().round().tolist()))
    assert n_level1 == {'vehicle': 10 + 20 + 90 + 100, 'animal': sum(range(30, 90, 10))}


def test_a_flat_balanced_softmax_is_chapter_5s():
    counts = np.array([50, 5] + [20] * 8)
    x, y = torch.randn(8, 10), torch.arange(8)
    ce_like = hier_loss('soft_labels', cifar10_hierarchy(), CIFAR10_CLASSES, beta=1e6)   # β → ∞: one-hot cross-entropy
    assert torch.allclose(tail_adjusted_loss(ce_like, counts)(x, y), BalancedSoftmaxLoss(counts)(x, y), atol=1e-5)


def test_efficiency_and_paired_summaries_on_a_made_up_grid():
    rows = [dict(regime='balanced', images_per_class=n, imbalance_ratio=np.nan, seed=s, method=m, top1=t + (2 if m == 'B' else 0) + s,
                 mistake_severity=2., **{'hd@5': 2., 'level2_acc': 50., 'few': np.nan, 'ece': .1})
            for n, t in [(10, 20), (100, 40)] for s in (0, 1, 2) for m in ('CE', 'B')]
    v = paired_vs_ce(pd.DataFrame(rows))
    assert v.d_top1.tolist() == [2, 2] and v.seeds.tolist() == [3, 3] and not v.goal.any()
    e = data_efficiency(pd.DataFrame(rows)).set_index(['method', 'images_per_class'])
    assert np.isclose(e.loc[('B', 10), 'ce_images_needed'], 10 ** 1.1) and np.isnan(e.loc[('B', 100), 'data_ratio'])
    with pytest.raises(ValueError, match="no 'CE' learning curve"): data_efficiency(pd.DataFrame(rows).query("method == 'B'"))


def test_the_plan_and_its_projection():
    plan = grid_plan()
    assert len(plan) == 216 and plan.groupby('seed').size().tolist() == [72] * 3
    assert plan.images_per_class.notna().sum() == 6 * 3 * 8 and set(plan.imbalance_ratio.dropna()) == {10, 100}
    timing = pd.DataFrame(dict(images_seen=[10_000, 20_000], seconds=[15., 25.]))
    assert np.isclose(projected_minutes(plan, timing, n_jobs=2, column='seconds'), (len(plan) * 5 + plan.images_seen.sum() / 1000) / 2 / 60)
    with pytest.raises(ValueError, match='two sizes'): projected_minutes(plan, timing.iloc[:1], column='seconds')


@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=f'{REAL_ARCHIVE} is not on this machine')
def test_the_real_archive_labels_its_numbers_jpeg(monkeypatch):
    monkeypatch.setenv(CIFAR_ENV, str(REAL_ARCHIVE))
    pool = image_pool(fixture=False)
    assert pool.label == 'CIFAR-10 (JPEG)' and (~pool.is_test).sum() == 50_000 and pool.is_test.sum() == 10_000
    res = images_grid(pool, **TINY | dict(methods=('CE',)))
    assert set(res.data) == {'CIFAR-10 (JPEG)'} and res.test_images.iloc[0] == 100
    assert pool._loaded.sum() == 200   # only the images the run used were decoded


def test_time_cifar_data_on_a_folder(tmp_path):
    from hierlearn.longtail import write_cifar_fixture
    from hierlearn.experiments.images import time_cifar_data
    write_cifar_fixture(tmp_path / 'cifar10', n_train=2, n_test=1)
    t = time_cifar_data(tmp_path)
    assert t['images'] == 30 and t['data'] == 'CIFAR-10' and np.isnan(t['unpack_seconds']) and t['decode_seconds'] >= 0
