"""hierlearn.ingrain beyond chapter 07 (nbs/07_ingrain.ipynb), whose cells already check the metrics, CRM, the losses'
limits and hand values, bad hyper-parameters and every method's export/load round trip: here only what the chapter does
not check: hypothesis properties on random trees, probabilities and column orders, edge cases of the metrics, losses on
a class subset of an uneven tree, pickling, errors raised through the public functions, and learners with metrics or
an image body through export/load."""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings, strategies as st

from hierlearn.hierarchy import Hierarchy
from hierlearn.ingrain import (HIER_METHODS, HXELoss, MultiLevelLoss, TreeSoftmaxLoss, crm_decode, hier_distance_at_k,
                               hier_evaluate, hier_learner, hier_loss, hier_prf, leaf_preds, level_accuracy,
                               mistake_severity, rare_classes, rare_recall, top1_error, MistakeSeverity, Top1Error,
                               n_outputs, _class_distances, _rare)

pytestmark = [pytest.mark.filterwarnings('ignore:.*load_learner.*'),      # fastai's pickle-safety warning; our own files
              pytest.mark.filterwarnings('ignore:The given NumPy array is not writable')]

# root ─┬─ A ─ a1, a2
#       └─ B ─ b1, b2, b3        every leaf at depth 2: siblings are 1 apart, cousins 2
TREE = Hierarchy.from_nested({'root': {'A': ['a1', 'a2'], 'B': ['b1', 'b2', 'b3']}})
LEAVES = ['a1', 'a2', 'b1', 'b2', 'b3']
D = np.array([[0, 1, 2, 2, 2], [1, 0, 2, 2, 2], [2, 2, 0, 1, 1], [2, 2, 1, 0, 1], [2, 2, 1, 1, 0]])
UNEVEN = Hierarchy.from_nested({'r': {'A': {'A1': ['a', 'b', 'c'], 'A2': ['d']}, 'B': {'B1': ['e', 'f']}, 'g': None}})


def test_toy_tree_distances():
    assert TREE.leaves == LEAVES
    np.testing.assert_array_equal(TREE.distance_matrix().to_numpy(), D)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_class_distances_are_the_pairwise_distance(draws, rnd):
    """On random trees, for a random subset of leaves in random order: `_class_distances` is `Hierarchy.distance` of each pair"""
    parents = {0: None}
    for i, d in enumerate(draws, start=1): parents[i] = d % i          # a random recursive tree on 0..len(draws)
    tree = Hierarchy(parents)
    if len(tree.leaves) < 2: return
    classes = rnd.sample(tree.leaves, rnd.randint(2, len(tree.leaves)))
    D = _class_distances(tree, classes)
    assert D.dtype == np.int64
    np.testing.assert_array_equal(D, [[tree.distance(a, b) for b in classes] for a in classes])


# ---------------------------------------------------------------------------------------------
# metrics: edge cases the chapter does not reach

Y_TRUE = ['a1', 'a1', 'a2', 'b1', 'b3', 'b2']
Y_PRED = ['a1', 'a2', 'b1', 'b1', 'b2', 'a1']     # right, sibling (1), cousin (2), right, sibling (1), cousin (2)


def test_hier_prf_with_nothing_shared():
    assert hier_prf(['g'], ['a'], UNEVEN) == (0.0, 0.0, 0.0)     # {g} vs {a, A1, A}: F is 0, not 0/0


def test_level_accuracy_at_the_root():
    assert level_accuracy(Y_TRUE, Y_PRED, TREE, 0) == 1.0


def test_rare_classes_from_a_series_and_recall_with_max_count():
    counts = {'a1': 100, 'a2': 40, 'b1': 8, 'b2': 3, 'b3': 1}
    assert rare_classes(pd.Series(counts), quantile=0.) == ['b3']
    assert rare_recall(Y_TRUE, Y_PRED, counts, max_count=10) == pytest.approx((1 + 0 + 0) / 3)   # b1 right, b3 → b2, b2 → a1


def test_hier_evaluate_of_one_hot_rows():
    probs = np.eye(5)[[0, 1, 2, 2, 3, 0]]           # one-hot rows predicting Y_PRED
    r = hier_evaluate(Y_TRUE, probs, TREE, class_counts=[100, 40, 8, 3, 1])
    assert r['ece'] == pytest.approx(4 / 6)          # confidence 1 everywhere, accuracy 1/3
    assert r['level1_accuracy'] == pytest.approx(4 / 6)
    assert hier_evaluate(Y_TRUE, probs, TREE, decode='crm') == pytest.approx(hier_evaluate(Y_TRUE, probs, TREE))  # one-hot: CRM = argmax


# ---------------------------------------------------------------------------------------------
# properties

probabilities = st.lists(st.floats(0.001, 1.0), min_size=5, max_size=5).map(lambda w: np.array(w) / np.sum(w))


@settings(max_examples=60, deadline=None)
@given(probabilities)
def test_crm_minimises_the_expected_distance(p):
    k = crm_decode(p[None], TREE)[0]
    assert (p @ D)[k] <= (p @ D).min() + 1e-12


@settings(max_examples=40, deadline=None)
@given(probabilities, st.permutations(list(range(5))))
def test_crm_follows_the_columns(p, perm):
    perm = list(perm)
    label = np.asarray(LEAVES)[perm][crm_decode(p[None, perm], TREE, classes=np.asarray(LEAVES)[perm])[0]]
    assert (p @ D)[LEAVES.index(label)] == pytest.approx((p @ D).min())   # the same decision, up to ties


@settings(max_examples=40, deadline=None)
@given(probabilities)
def test_hd_at_1_is_error_times_severity(p):
    y = ['a1', 'b2', 'b3']
    probs = np.stack([p, np.roll(p, 1), np.roll(p, 2)])
    pred = np.asarray(LEAVES)[probs.argmax(1)]
    severity = mistake_severity(y, pred, TREE)
    expected = top1_error(y, pred) * (0 if np.isnan(severity) else severity)
    assert hier_distance_at_k(y, probs, TREE, k=1) == pytest.approx(expected)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**20), st.floats(0.1, 30.))
def test_tree_softmax_loss_is_minus_log_p_on_an_uneven_tree(seed, scale):
    "The chapter checks the probabilities sum to one on this tree; here the loss of each leaf, on every level of it"
    loss = TreeSoftmaxLoss(UNEVEN)
    z = scale * torch.randn(6, loss.n_out, generator=torch.Generator().manual_seed(seed))
    p = loss.activation(z)
    y = torch.arange(6) % len(UNEVEN.leaves)
    assert torch.isfinite(loss(z, y))
    if scale < 5:   # moderate logits: no probability underflows, so −log p is the loss
        torch.testing.assert_close(loss(z, y), -torch.log(p[torch.arange(6), y]).mean(), rtol=1e-4, atol=1e-4)


def test_losses_restrict_the_tree_to_the_classes():
    loss = TreeSoftmaxLoss(TREE, classes=['b3', 'a1', 'b1'])     # a subset, in vocab order
    assert loss.n_out == 5 and loss.vocab == ['b3', 'a1', 'b1']   # A, a1, B, b1, b3
    torch.testing.assert_close(loss.activation(torch.randn(4, 5)).sum(1), torch.ones(4))
    assert MultiLevelLoss(TREE, classes=['b3', 'a1']).levels == [['B', 'A'], ['b3', 'a1']]



def _caterpillar(depth:int) -> Hierarchy:
    "A chain n1 … n(depth−1) below the root, a leaf l_d hanging from each node and two leaves at the bottom: leaves at depths 1 … depth"
    chain = {f'l{depth}': None, f'l{depth + 1}': None}
    for d in range(depth - 1, 0, -1): chain = {f'l{d}': None, f'n{d}': chain}
    return Hierarchy.from_nested({'root': chain})


def test_multilevel_prediction_does_not_pile_onto_the_deepest_leaves():
    """Regression: on a deep, unbalanced tree, scoring a leaf by the sum of its ancestors' log-probabilities over every level
    counted a large family once per level and sent most predictions to the two deepest leaves. Heads that know only the
    class frequencies (the log share of the classes below each node) must leave every class equally likely, and noise
    around them must spread the predictions over all classes"""
    tree = _caterpillar(8)
    loss, n = MultiLevelLoss(tree), len(tree.leaves)
    below = [torch.tensor([sum(node in tree.ancestors(c, include_self=True) for c in tree.leaves) for node in nodes], dtype=torch.float32)
             for nodes in loss.levels]
    prior = torch.cat([(b / n).log() for b in below])
    torch.testing.assert_close(loss.activation(prior[None]), torch.full((1, n), 1 / n))
    z = prior + 0.5 * torch.randn(4000, loss.n_out, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(loss.activation(z).argmax(1), minlength=n) / len(z)
    assert shares.max() < 2 / n, f"one class gets {shares.max():.0%} of the predictions: {shares.tolist()}"

@pytest.mark.parametrize('method', HIER_METHODS)
def test_ignore_index_on_an_uneven_tree(method):
    """Targets -100 are skipped by every method alike, also where the classes are a subset in vocab order"""
    classes = ['f', 'a', 'g', 'd']
    n = n_outputs(hier_loss(method, UNEVEN, classes), len(classes))
    z = torch.randn(7, n, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, -100, 1, 2, -100, 3, 0])
    kept = y != -100
    for reduction in ('mean', 'sum'):
        loss = hier_loss(method, UNEVEN, classes, reduction=reduction)
        torch.testing.assert_close(loss(z, y), loss(z[kept], y[kept]))
    assert torch.isnan(hier_loss(method, UNEVEN, classes)(z[:2], torch.tensor([-100, -100])))   # nothing kept: NaN, as torch
    with pytest.raises(ValueError, match='target 4 is not a class code 0..3'): hier_loss(method, UNEVEN, classes)(z, y.clamp(min=4))


def test_hier_losses_pickle_with_their_target_rules():
    import pickle
    for method in HIER_METHODS:
        back = pickle.loads(pickle.dumps(hier_loss(method, TREE, reduction='sum')))
        assert back.reduction == 'sum'
        with pytest.raises(ValueError, match='target -1'): back(torch.randn(2, back.n_out), torch.tensor([0, -1]))


# ---------------------------------------------------------------------------------------------
# bad input

def test_labels_not_in_the_hierarchy():
    with pytest.raises(ValueError, match=r"\['zz'\]"): level_accuracy(['zz'], ['a1'], TREE, 1)
    with pytest.raises(ValueError, match=r"\['A'\]"): crm_decode(np.eye(2)[:1], TREE, classes=['a1', 'A'])
    with pytest.raises(ValueError, match='duplicate classes'): HXELoss(TREE, classes=['a1', 'a1'])


def test_bad_probabilities():
    with pytest.raises(ValueError, match='negative'): hier_evaluate(['a1'], [[1.5, -0.5, 0, 0, 0]], TREE)
    with pytest.raises(ValueError, match='NaN or infinite'): hier_evaluate(['a1'], [[np.nan, 1, 0, 0, 0]], TREE)
    with pytest.raises(ValueError, match='2-D'): crm_decode(np.ones(5) / 5, TREE)
    with pytest.raises(ValueError, match='3 rows but y_true has 2'): hier_evaluate(['a1', 'b1'], np.eye(5)[:3], TREE)


def test_bad_k_and_lengths():
    with pytest.raises(ValueError, match=r'k must be an integer from 1 to the number of classes \(5\), got 0'):
        hier_distance_at_k(['a1'], np.eye(5)[:1], TREE, k=0)
    with pytest.raises(ValueError, match='y_true has 2 labels but y_pred has 1'): top1_error(['a1', 'a2'], ['a1'])
    with pytest.raises(ValueError, match='missing labels'): top1_error(['a1', None], ['a1', 'a1'])


PROBS = np.eye(5)[[0, 1, 2, 2, 3, 0]]   # one-hot rows predicting Y_PRED
COUNTS5 = {'a1': 100, 'a2': 40, 'b1': 8, 'b2': 3, 'b3': 1}

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts=[500, 3]), ValueError,        # silently cut to two classes before
     r'class_counts has 2 entries but there are 5 classes: give one count per class'),
    (lambda: hier_evaluate(Y_TRUE[:2], PROBS[:2], TREE, class_counts=[500, 3]), ValueError, r'class_counts has 2 entries but there are 5 classes'),
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts=[100, 40, 8, 3, 1, 7]), ValueError, r'class_counts has 6 entries but there are 5'),
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts=[[100, 40, 8, 3, 1]]), ValueError, r'class_counts has 5 entries but there are 5'),
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts={'a1': 100, 'a2': 40}), ValueError,
     r"class_counts must have one entry per class: no entry for \['b1', 'b2', 'b3'\]$"),
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts=COUNTS5 | {'zz': 4}), ValueError,
     r"entries for \['zz'\], which are not among the classes"),
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts=pd.Series(COUNTS5).drop('b3')), ValueError, r"no entry for \['b3'\]"),
    (lambda: hier_evaluate(Y_TRUE, PROBS, TREE, class_counts=[100, 40, 8, 3, -1]), ValueError, r'finite and >= 0'),
    (lambda: rare_recall(['a1'], ['zz'], COUNTS5), ValueError, r"classes \['zz'\] occur in y_pred but have no entry"),
    (lambda: rare_recall(['zz'], ['a1'], COUNTS5), ValueError, r"classes \['zz'\] occur in y_true but have no entry"),
    (lambda: rare_recall([1, 2], [1, 3], {1: 5, 2: 6}), ValueError, r"classes \[3\] occur in y_pred"),
    (lambda: rare_recall(['a1'], ['a1'], [100, 40]), TypeError, r'class_counts must map each label'),
    (lambda: _rare(np.array(Y_TRUE, dtype=object), PROBS, LEAVES, {'a1': 100, 'a2': 40}, None, 0.25), ValueError, r"no entry for \['b1', 'b2', 'b3'\]"),
    (lambda: hier_distance_at_k(np.array([2]), np.eye(2)[:1], Hierarchy.from_nested({'r': {'A': [0, 1], 'B': [2]}}), k=1, classes=[0, 1]),
     ValueError, r"y_true has labels that are not among the classes \(the score columns\): \[2\]$"),   # the label as typed, not '2'
    (lambda: hier_loss('wordtree', TREE), ValueError, r"unknown method 'wordtree'"),
    (lambda: hier_loss('ce', TREE, label_smoothing=0.1), TypeError, r'label_smoothing'),
    (lambda: hier_loss('ce', TREE, reduction='avg'), ValueError, r"reduction must be 'mean', 'sum' or 'none', got 'avg'"),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()


@pytest.mark.parametrize('method', HIER_METHODS)
@pytest.mark.parametrize('case', ['short targets', 'long targets', 'target too high', 'negative target', 'wide output', 'narrow output'])
def test_every_method_refuses_bad_shapes_and_targets(method, case):
    "Every method, 'ce' included (fastai's CrossEntropyLossFlat before: a 6-wide output on 5 classes gave a loss), with our message"
    loss = hier_loss(method, TREE)
    n, z, y = loss.n_out, torch.randn(6, loss.n_out), torch.tensor([0, 1, 2, 3, 4, 0])
    call, message = {'short targets': (lambda: loss(z, y[:5]), r'^5 targets for 6 predictions'),
                     'long targets': (lambda: loss(z[:4], y), r'^6 targets for 4 predictions'),
                     'target too high': (lambda: loss(z, y.clamp(min=5)), r'^target 5 is not a class code 0\.\.4 \(5 classes\)'),
                     'negative target': (lambda: loss(z, -y - 1), r'^target -1 is not a class code'),
                     'wide output': (lambda: loss(torch.randn(6, n + 1), y), rf'needs {n} model outputs for 5 classes, got {n + 1}'),
                     'narrow output': (lambda: loss(torch.randn(6, n - 1), y), rf'needs {n} model outputs for 5 classes, got {n - 1}')}[case]
    with pytest.raises(ValueError, match=message): call()


def test_ce_is_plain_cross_entropy():
    z, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 4, 0])
    torch.testing.assert_close(hier_loss('ce', TREE)(z, y), torch.nn.functional.cross_entropy(z, y))
    torch.testing.assert_close(hier_loss('ce', TREE).activation(z), torch.softmax(z, -1))
    assert n_outputs(hier_loss('ce', TREE), 5) == 5


# ---------------------------------------------------------------------------------------------
# learners: the chapter round-trips every method through export/load; here metrics and an image body travel too

@pytest.fixture(scope='module')
def tabular_dls():
    from fastai.tabular.data import TabularDataLoaders
    from fastai.data.block import CategoryBlock
    rng = np.random.default_rng(0)
    centres = {'a1': (0, 0), 'a2': (0, 1), 'b1': (3, 0), 'b2': (3, 1), 'b3': (3, 2)}
    y = np.repeat(LEAVES, 30)
    X = np.array([centres[c] for c in y]) + rng.normal(0, 0.4, (len(y), 2))
    df = pd.DataFrame(X, columns=['x0', 'x1']).assign(label=y)
    valid = rng.choice(len(df), 40, replace=False)
    return TabularDataLoaders.from_df(df, y_names='label', cont_names=['x0', 'x1'], y_block=CategoryBlock(),
                                      valid_idx=list(valid), bs=32, num_workers=0), df.iloc[valid]


def test_export_load_round_trip_with_metrics(tabular_dls, tmp_path):
    from fastai.learner import load_learner
    dls, valid_df = tabular_dls
    learn = hier_learner(dls, None, TREE, 'tree_softmax', seed=0, layers=[16], metrics=[Top1Error(), MistakeSeverity(TREE)])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    probs, y, classes = leaf_preds(learn)
    assert probs.shape == (40, 5) and classes == LEAVES
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    learn.export(tmp_path / 'model.pkl')
    back = load_learner(tmp_path / 'model.pkl')
    probs_back, y_back, _ = leaf_preds(back, back.dls.test_dl(valid_df))
    np.testing.assert_allclose(probs_back, probs, atol=1e-5)
    assert list(y_back) == list(y)
    assert [m.name for m in back.metrics] == ['top1_error', 'mistake_severity']


def test_image_learner_with_a_body(tmp_path):
    from fastai.learner import load_learner
    from hierlearn.sampling_fastai import balanced_image_dls
    rng = np.random.default_rng(1)
    y = np.repeat(LEAVES, 12)
    images = rng.random((len(y), 8, 8)) + np.array([LEAVES.index(c) for c in y])[:, None, None] * 0.3
    dls = balanced_image_dls(images, y, (np.arange(0, 60), np.arange(0, 60) + 0), power=0, batch_size=16, seed=0, num_workers=0)
    body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    learn = hier_learner(dls, body, TREE, 'tree_softmax', seed=0)
    assert learn.model.body is not body and learn.model.head.out_features == 7   # A, a1, a2, B, b1, b2, b3
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    probs, _, _ = leaf_preds(learn)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    learn.export(tmp_path / 'image.pkl')
    back = load_learner(tmp_path / 'image.pkl')
    xb = dls.valid.one_batch()[0].cpu()
    torch.testing.assert_close(back.model.eval()(xb), learn.model.eval().cpu()(xb))
