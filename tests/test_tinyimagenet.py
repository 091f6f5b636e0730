"""The few-shot Tiny ImageNet experiment (`hierlearn.experiments.tinyimagenet`): splits, relatives, shots, the L2-SP prior,
resuming from the cache, and the errors bad input gets."""
import inspect

import numpy as np, pandas as pd, pytest

from hierlearn.data import TINYIMAGENET_ENV
from hierlearn.hierarchy import Hierarchy, tiny_imagenet_hierarchy
from hierlearn.ingrain import hier_loss, n_outputs
from hierlearn.experiments.tinyimagenet import (SPLITS, FEW_SHOT_METHODS, FEW_SHOT_CONTROLS, FewShotTask, class_split, families,
                                                nearest_relatives, draw_shots, fit_head, few_shot_draw, run_tinyimagenet,
                                                run_tinyimagenet_resnet18)


@pytest.fixture(scope='module')
def tree(): return tiny_imagenet_hierarchy()


@pytest.fixture(scope='module')
def toy():
    "Two families of three classes, features that follow the tree, 8 training and 4 validation images a class"
    h = Hierarchy.from_parents({'cat': 'felid', 'lion': 'felid', 'tiger': 'felid', 'car': 'vehicle', 'bus': 'vehicle', 'van': 'vehicle',
                                'felid': 'animal', 'animal': 'root', 'vehicle': 'root'})
    rng = np.random.default_rng(0)
    centres = {c: rng.normal(size=6) + (3 if h.parent(c) == 'felid' else -3) for c in h.leaves}
    y = np.repeat(h.leaves, 12)
    is_val = np.tile([False] * 8 + [True] * 4, len(h.leaves))
    X = np.array([centres[c] for c in y]) + 0.3 * rng.normal(size=(len(y), 6))
    return FewShotTask(X, y, is_val, h, base=['cat', 'lion', 'car', 'bus'], novel=['tiger', 'van'])


@pytest.mark.parametrize('how', SPLITS)
def test_splits_are_disjoint_halves_in_class_order(tree, how):
    base, novel = class_split(tree, tree.leaves, how, seed=0)
    assert not set(base) & set(novel) and set(base) | set(novel) == set(tree.leaves)
    assert len(novel) == 100 if how == 'random' else 90 <= len(novel) <= 100
    assert base == [c for c in tree.leaves if c in base] and novel == [c for c in tree.leaves if c in novel]
    assert class_split(tree, tree.leaves, how, seed=0) == (base, novel)
    assert class_split(tree, tree.leaves, how, seed=1) != (base, novel)


def test_the_family_split_keeps_families_whole_and_relatives_far(tree):
    base, novel = class_split(tree, tree.leaves, 'family', seed=0)
    for group in families(tree, tree.leaves, 25).values():
        assert set(group) <= set(base) or set(group) <= set(novel), group
    nearest = lambda b, n: tree.distance_matrix(n + b).to_numpy()[:len(n), len(n):].min(1)
    assert np.median(nearest(base, novel)) > np.median(nearest(*class_split(tree, tree.leaves, 'random', seed=0)))


def test_relatives_are_the_nearest_base_classes_and_the_control_differs(tree):
    base, novel = class_split(tree, tree.leaves, 'random', seed=0)
    rel = nearest_relatives(tree, novel, base)
    D = tree.distance_matrix(novel + base).to_numpy()[:len(novel), len(novel):]
    for i, c in enumerate(novel):
        assert {tree.distance(c, r) for r in rel[c]} == {D[i].min()}
        assert len(rel[c]) == (D[i] == D[i].min()).sum()
    control = nearest_relatives(tree, novel, base, shuffle_seed=0)
    assert {c: len(r) for c, r in control.items()} == {c: len(r) for c, r in rel.items()}
    assert sum(set(control[c]) != set(rel[c]) for c in novel) > 50


def test_shots_are_nested_in_k_reproducible_and_training_images_only(toy):
    for draw in (0, 1):
        previous = set()
        for k in (1, 2, 5, 8):
            shots = draw_shots(toy.y, toy.is_val, toy.novel, k, draw)
            assert previous <= set(shots) and len(shots) == k * len(toy.novel)
            assert not toy.is_val[shots].any()
            np.testing.assert_array_equal(shots, draw_shots(toy.y, toy.is_val, toy.novel, k, draw))
            previous = set(shots)
    assert set(draw_shots(toy.y, toy.is_val, toy.novel, 2, 0)) != set(draw_shots(toy.y, toy.is_val, toy.novel, 2, 1))


def test_the_prior_enters_the_objective(toy):
    "A convex head reaches one optimum from any start: borrowing must change the objective (L2-SP), not the start"
    shots = draw_shots(toy.y, toy.is_val, toy.novel, 1, 0)
    loss = hier_loss('tree_softmax', toy.h, toy.novel)
    X, y, n_out = toy.X[shots], [toy.novel.index(c) for c in toy.y[shots]], n_outputs(loss, 2)
    plain = fit_head(X, y, loss, n_out).weight.detach().numpy()
    np.testing.assert_allclose(fit_head(X, y, loss, n_out, seed=3).weight.detach().numpy(), plain, atol=1e-3)
    prior = np.full((n_out, X.shape[1]), 0.5)
    assert np.abs(fit_head(X, y, loss, n_out, prior=prior).weight.detach().numpy() - plain).max() > 1e-2
    p_nodes, p_plain = toy.probs('tree softmax (base nodes)', shots), toy.probs('tree softmax', shots)
    assert np.abs(p_nodes - p_plain).max() > 1e-3
    assert np.abs(toy.probs('CE + relatives', shots) - toy.probs('CE', shots)).max() > 1e-3


def test_every_method_gives_probabilities(toy):
    rows = few_shot_draw(toy, 2, 0)
    assert [r['method'] for r in rows if r['method'] != 'CE + CRM'] == list(FEW_SHOT_METHODS) + list(FEW_SHOT_CONTROLS)
    for method in list(FEW_SHOT_METHODS) + list(FEW_SHOT_CONTROLS):
        p = toy.probs(method, draw_shots(toy.y, toy.is_val, toy.novel, 1, 0))
        assert p.shape == (len(toy.val), 2) and np.allclose(p.sum(1), 1), method


@pytest.mark.parametrize('runner', [run_tinyimagenet, run_tinyimagenet_resnet18])
def test_the_registry_can_call_it(runner):
    assert list(inspect.signature(runner).parameters)[:5] == ['out', 'quick', 'seed', 'device', 'data']


def test_a_finished_draw_is_read_back_not_recomputed(tmp_path, monkeypatch):
    monkeypatch.delenv(TINYIMAGENET_ENV, raising=False)
    kw = dict(quick=True, splits=('random',), methods=('NCM', 'CE', 'tree softmax (base nodes)'), device='cpu')
    first = run_tinyimagenet(tmp_path, **kw)
    assert set(first.data) == {'generated fixture'} and len(first) == 2 * 4
    cached = sorted((tmp_path / 'cache').glob('random-k*.json'))
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = run_tinyimagenet(tmp_path, **kw)
    pd.testing.assert_frame_equal(again, first)
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    assert len(list((tmp_path / 'cache').glob('backbone-*.pt'))) == 1
    fresh = run_tinyimagenet(tmp_path / 'again', **kw)   # a seeded run repeats exactly, from scratch
    pd.testing.assert_frame_equal(fresh.drop(columns='cpu_seconds'), first.drop(columns='cpu_seconds'))


@pytest.mark.parametrize('call, message', [
    (lambda t, toy: draw_shots(toy.y, toy.is_val, toy.novel, 9, 0), 'only 8 training images'),
    (lambda t, toy: draw_shots(toy.y, toy.is_val, toy.novel, 0, 0), 'at least 1'),
    (lambda t, toy: few_shot_draw(toy, 1, 0, ['NCM', 'magic']), 'magic'),
    (lambda t, toy: toy.probs('tree softmax [shuffled tree]', [0]), 'tree softmax [shuffled tree]'),
    (lambda t, toy: class_split(toy.h, toy.h.leaves, 'alphabetical'), 'alphabetical'),
    (lambda t, toy: class_split(toy.h, toy.h.leaves, 'random', n_novel=6), 'n_novel must be between 1 and 5'),
    (lambda t, toy: fit_head(np.zeros((2, 3)), [0, 1], hier_loss('ce', toy.h, toy.novel), 2, prior=np.zeros((3, 3))), 'prior must be 2×3'),
    (lambda t, toy: run_tinyimagenet(t, splits=('alphabetical',)), 'alphabetical'),
    (lambda t, toy: run_tinyimagenet(t, methods=('magic',)), 'magic'),
    (lambda t, toy: run_tinyimagenet(t), TINYIMAGENET_ENV),
    (lambda t, toy: run_tinyimagenet_resnet18(t / 'r18'), TINYIMAGENET_ENV),
    (lambda t, toy: run_tinyimagenet_resnet18(t / 'r18', quick=True, epochs=0), 'epochs must be at least 1'),
    (lambda t, toy: run_tinyimagenet_resnet18(t / 'r18', quick=True, best=('magic', 'HXE')), 'magic'),
])
def test_bad_input_gets_a_clear_error(tmp_path, monkeypatch, toy, call, message):
    monkeypatch.delenv(TINYIMAGENET_ENV, raising=False)
    with pytest.raises((ValueError, KeyError, FileNotFoundError)) as err:
        call(tmp_path, toy)
    assert message in str(err.value)
    assert not (tmp_path / 'r18').exists()   # stopped before any work
