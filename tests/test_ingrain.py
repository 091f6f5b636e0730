"""hierlearn.ingrain: hand-computed metrics on a two-level toy tree, properties of the losses and of CRM,
bad input, and the export/load round trip of a learner for every method."""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from hierlearn.hierarchy import Hierarchy
from hierlearn.ingrain import (HIER_METHODS, CRMClassifier, EmbeddingLoss, HierLabelSmoothingLoss, HXELoss, MultiLevelLoss,
                               SoftLabelLoss, TreeSoftmaxLoss, crm_decode, expected_calibration_error, hier_distance_at_k,
                               hier_embeddings, hier_evaluate, hier_learner, hier_loss, hier_prf, leaf_preds, level_accuracy,
                               mistake_severity, rare_classes, rare_recall, top1_error, MistakeSeverity, Top1Error,
                               n_outputs, _class_distances)

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
# metrics, by hand

Y_TRUE = ['a1', 'a1', 'a2', 'b1', 'b3', 'b2']
Y_PRED = ['a1', 'a2', 'b1', 'b1', 'b2', 'a1']     # right, sibling (1), cousin (2), right, sibling (1), cousin (2)


def test_top1_and_severity_by_hand():
    assert top1_error(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert mistake_severity(Y_TRUE, Y_PRED, TREE) == pytest.approx((1 + 2 + 1 + 2) / 4)
    assert np.isnan(mistake_severity(Y_TRUE, Y_TRUE, TREE))


def test_hier_distance_at_k_by_hand():
    scores = np.array([[0.1, 0.5, 0.3, 0.05, 0.05],     # true a1: ranks a2 (1), b1 (2), a1 (0), then b2, b3 tied (2, 2)
                       [0.0, 0.0, 0.2, 0.3, 0.5]])      # true b2: ranks b3 (1), b2 (0), b1 (1), a1 (2), a2 (2)
    y = ['a1', 'b2']
    assert hier_distance_at_k(y, scores, TREE, k=1) == pytest.approx((1 + 1) / 2)
    assert hier_distance_at_k(y, scores, TREE, k=3) == pytest.approx(((1 + 2 + 0) / 3 + (1 + 0 + 1) / 3) / 2)
    assert hier_distance_at_k(y, scores, TREE, k=5) == pytest.approx((7 / 5 + 6 / 5) / 2)


def test_hier_prf_by_hand():
    # augmented sets without the root: a1 {a1, A}; pairs (true, pred) overlap 2, 1, 0, 2, 1, 0 = 6 of 12 on each side
    prf = hier_prf(Y_TRUE, Y_PRED, TREE)
    assert (prf.precision, prf.recall, prf.f) == pytest.approx((0.5, 0.5, 0.5))
    partial = hier_prf(['a1', 'b1'], ['A', 'b1'], TREE)          # a partial prediction: precise, incomplete
    assert partial.precision == pytest.approx(3 / 3) and partial.recall == pytest.approx(3 / 4)
    uneven = hier_prf(['g'], ['a'], UNEVEN)                       # {g} vs {a, A1, A}: nothing shared
    assert uneven == (0.0, 0.0, 0.0)


def test_level_accuracy_by_hand():
    assert level_accuracy(Y_TRUE, Y_PRED, TREE, 1) == pytest.approx(4 / 6)
    assert level_accuracy(Y_TRUE, Y_PRED, TREE, 2) == pytest.approx(2 / 6)
    assert level_accuracy(Y_TRUE, Y_PRED, TREE, 0) == 1.0


def test_rare_classes_and_recall_by_hand():
    counts = {'a1': 100, 'a2': 40, 'b1': 8, 'b2': 3, 'b3': 1}
    assert rare_classes(counts) == ['b2', 'b3']                  # lower quartile of the counts is 3
    assert rare_classes(counts, max_count=10) == ['b1', 'b2', 'b3']
    assert rare_classes(pd.Series(counts), quantile=0.) == ['b3']
    assert rare_recall(Y_TRUE, Y_PRED, counts) == pytest.approx((0 + 0) / 2)     # b3 → b2, b2 → a1
    assert rare_recall(Y_TRUE, Y_PRED, counts, max_count=10) == pytest.approx((1 + 0 + 0) / 3)
    assert np.isnan(rare_recall(['a1'], ['a1'], counts))


def test_ece_by_hand():
    probs = np.array([[0.8, 0.2], [0.8, 0.2], [0.3, 0.7], [0.3, 0.7]])
    # confidences 0.8 (1 of 2 right) and 0.7 (2 of 2 right): |0.5 − 0.8|/2 + |1 − 0.7|/2
    assert expected_calibration_error([0, 1, 1, 1], probs) == pytest.approx(0.3)
    assert expected_calibration_error(['x', 'y', 'y', 'y'], probs, classes=['x', 'y']) == pytest.approx(0.3)


def test_crm_by_hand():
    p = np.array([[0.32, 0.0, 0.28, 0.25, 0.15]])   # argmax a1; family B holds 0.68
    risk = p @ D
    np.testing.assert_allclose(risk, [[1.36, 1.68, 1.04, 1.07, 1.17]])
    assert crm_decode(p, TREE).tolist() == [2]
    assert p.argmax(1).tolist() == [0]


def test_hier_evaluate_keys_and_values():
    probs = np.eye(5)[[0, 1, 2, 2, 3, 0]]           # one-hot rows predicting Y_PRED
    r = hier_evaluate(Y_TRUE, probs, TREE, train_counts=[100, 40, 8, 3, 1])
    assert list(r) == ['top1_error', 'mistake_severity', 'hd@1', 'hd@5', 'hier_precision', 'hier_recall', 'hier_f',
                       'rare_recall', 'ece', 'level1_accuracy']
    assert r['top1_error'] == pytest.approx(4 / 6) and r['mistake_severity'] == pytest.approx(1.5)
    assert r['hd@1'] == pytest.approx(r['top1_error'] * r['mistake_severity'])
    assert r['ece'] == pytest.approx(4 / 6)          # confidence 1 everywhere, accuracy 1/3
    assert r['level1_accuracy'] == pytest.approx(4 / 6)
    assert hier_evaluate(Y_TRUE, probs, TREE, decode='crm')['top1_error'] == pytest.approx(4 / 6)   # one-hot: CRM = argmax


# ---------------------------------------------------------------------------------------------
# properties

probabilities = st.lists(st.floats(0.001, 1.0), min_size=5, max_size=5).map(lambda w: np.array(w) / np.sum(w))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4))
def test_crm_of_one_hot_is_argmax(k):
    assert crm_decode(np.eye(5)[[k]], TREE).tolist() == [k]


@settings(max_examples=60, deadline=None)
@given(probabilities)
def test_crm_minimises_the_expected_distance(p):
    k = crm_decode(p[None], TREE)[0]
    assert (p @ D)[k] <= (p @ D).min() + 1e-12
    flat = Hierarchy.from_nested({'r': LEAVES})   # 0/1 cost: CRM is the argmax
    assert p[crm_decode(p[None], flat)[0]] == pytest.approx(p.max())


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


def _logits(seed, n=8, width=5, scale=3.):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, width, generator=g), torch.randint(0, 5, (n,), generator=g)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**20))
def test_limits_equal_cross_entropy(seed):
    z, y = _logits(seed)
    ce = F.cross_entropy(z, y)
    torch.testing.assert_close(HXELoss(TREE, alpha=0.)(z, y), ce, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(SoftLabelLoss(TREE, beta=1e5)(z, y), ce, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(HierLabelSmoothingLoss(TREE, eps=0.)(z, y), ce, rtol=1e-5, atol=1e-5)


def test_hxe_by_hand():
    z, y = _logits(0, n=1)
    y = torch.tensor([3])                        # b2: decisions b2 | B (depth 2) and B | root (depth 1)
    lp = F.log_softmax(z, -1)[0]
    lp_B = torch.logsumexp(lp[2:], 0)
    a = 0.7
    expected = -(np.exp(-2 * a) * (lp[3] - lp_B) + np.exp(-a) * lp_B)
    torch.testing.assert_close(HXELoss(TREE, alpha=a)(z, y), expected.float())


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**20), st.floats(0.1, 30.))
def test_tree_softmax_probabilities_sum_to_one(seed, scale):
    loss = TreeSoftmaxLoss(UNEVEN)
    z = scale * torch.randn(6, loss.n_out, generator=torch.Generator().manual_seed(seed))
    p = loss.activation(z)
    torch.testing.assert_close(p.sum(1), torch.ones(6))
    assert (p >= 0).all()
    y = torch.arange(6) % len(UNEVEN.leaves)
    assert torch.isfinite(loss(z, y))
    if scale < 5:   # moderate logits: no probability underflows, so −log p is the loss
        torch.testing.assert_close(loss(z, y), -torch.log(p[torch.arange(6), y]).mean(), rtol=1e-4, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**20))
def test_multilevel_prediction_is_consistent(seed):
    loss = MultiLevelLoss(TREE)                 # level 1: A, B; level 2: the five leaves
    z = 3 * torch.randn(32, loss.n_out, generator=torch.Generator().manual_seed(seed))
    pred = loss.activation(z).argmax(1)
    family, leaf = z[:, :2].argmax(1), z[:, 2:].argmax(1)
    agree = loss.level_index[0][leaf] == family   # the heads' argmaxes form a path of the tree
    assert torch.equal(pred[agree], leaf[agree])
    torch.testing.assert_close(loss.activation(z).sum(1), torch.ones(32))


def test_embeddings_follow_the_tree():
    E = hier_embeddings(TREE)
    np.testing.assert_allclose(E @ E.T, 1 - D / 2, atol=1e-9)
    loss = EmbeddingLoss(TREE, xent_weight=0.)
    assert loss(torch.tensor(E[[0, 4]], dtype=torch.float32), torch.tensor([0, 4])).item() == pytest.approx(0, abs=1e-6)


def test_losses_restrict_the_tree_to_the_classes():
    loss = TreeSoftmaxLoss(TREE, classes=['b3', 'a1', 'b1'])     # a subset, in vocab order
    assert loss.n_out == 5 and loss.vocab == ['b3', 'a1', 'b1']   # A, a1, B, b1, b3
    torch.testing.assert_close(loss.activation(torch.randn(4, 5)).sum(1), torch.ones(4))
    assert MultiLevelLoss(TREE, classes=['b3', 'a1']).levels == [['B', 'A'], ['b3', 'a1']]


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
    if method != 'ce':
        with pytest.raises(ValueError, match='target 4 is not a class code 0..3'): hier_loss(method, UNEVEN, classes)(z, y.clamp(min=4))


def test_hier_losses_pickle_with_their_target_rules():
    import pickle
    for method in HIER_METHODS[1:]:
        back = pickle.loads(pickle.dumps(hier_loss(method, TREE, reduction='sum')))
        assert back.reduction == 'sum'
        with pytest.raises(ValueError, match='target -1'): back(torch.randn(2, back.n_out), torch.tensor([0, -1]))


# ---------------------------------------------------------------------------------------------
# bad input

def test_labels_not_in_the_hierarchy():
    with pytest.raises(ValueError, match=r"\['zz'\]"): mistake_severity(['a1'], ['zz'], TREE)
    with pytest.raises(ValueError, match=r"\['zz'\]"): hier_prf(['zz'], ['a1'], TREE)
    with pytest.raises(ValueError, match=r"\['zz'\]"): level_accuracy(['zz'], ['a1'], TREE, 1)
    with pytest.raises(ValueError, match=r"\['zz'\]"): hier_distance_at_k(['zz'], np.eye(5)[:1], TREE, 1)
    with pytest.raises(ValueError, match=r"\['A'\]"): crm_decode(np.eye(2)[:1], TREE, classes=['a1', 'A'])
    with pytest.raises(ValueError, match='duplicate classes'): HXELoss(TREE, classes=['a1', 'a1'])
    with pytest.raises(ValueError, match="no entry in train_counts"): rare_recall(['b1'], ['b1'], {'a1': 3})


def test_bad_probabilities():
    with pytest.raises(ValueError, match='rows must sum to 1'): crm_decode([[0.5, 0.5, 0.5, 0., 0.]], TREE)
    with pytest.raises(ValueError, match='4 columns but there are 5 classes'): crm_decode(np.eye(4), TREE)
    with pytest.raises(ValueError, match='negative'): hier_evaluate(['a1'], [[1.5, -0.5, 0, 0, 0]], TREE)
    with pytest.raises(ValueError, match='NaN or infinite'): hier_evaluate(['a1'], [[np.nan, 1, 0, 0, 0]], TREE)
    with pytest.raises(ValueError, match='2-D'): crm_decode(np.ones(5) / 5, TREE)
    with pytest.raises(ValueError, match='3 rows but y_true has 2'): hier_evaluate(['a1', 'b1'], np.eye(5)[:3], TREE)
    with pytest.raises(ValueError, match="'argmax' or 'crm'"): hier_evaluate(['a1'], np.eye(5)[:1], TREE, decode='best')


def test_bad_k_and_lengths():
    with pytest.raises(ValueError, match=r'k must be an integer from 1 to the number of classes \(5\)'):
        hier_distance_at_k(['a1'], np.eye(5)[:1], TREE, k=20)
    with pytest.raises(ValueError, match='k must be'): hier_distance_at_k(['a1'], np.eye(5)[:1], TREE, k=0)
    with pytest.raises(ValueError, match='y_true has 2 labels but y_pred has 1'): top1_error(['a1', 'a2'], ['a1'])
    with pytest.raises(ValueError, match='missing labels'): top1_error(['a1', None], ['a1', 'a1'])
    assert 'hd@20' not in hier_evaluate(['a1'], np.eye(5)[:1], TREE)     # k above the number of classes: left out


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match='alpha'): HXELoss(TREE, alpha=-0.1)
    with pytest.raises(ValueError, match='beta'): SoftLabelLoss(TREE, beta=0)
    with pytest.raises(ValueError, match='eps'): HierLabelSmoothingLoss(TREE, eps=1.)
    with pytest.raises(ValueError, match='level_weights'): MultiLevelLoss(TREE, level_weights=[1, 2, 3])
    with pytest.raises(ValueError, match="unknown method"): hier_loss('flat', TREE)
    with pytest.raises(ValueError, match='needs 5 model outputs'): HXELoss(TREE)(torch.randn(2, 4), torch.tensor([0, 1]))


# ---------------------------------------------------------------------------------------------
# learners: every method round-trips through export/load

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


@pytest.mark.parametrize('method', HIER_METHODS)
def test_export_load_round_trip(method, tabular_dls, tmp_path):
    from fastai.learner import load_learner
    dls, valid_df = tabular_dls
    learn = hier_learner(dls, None, TREE, method, seed=0, layers=[16], metrics=[Top1Error(), MistakeSeverity(TREE)])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    probs, y, classes = leaf_preds(learn)
    assert probs.shape == (40, 5) and classes == LEAVES
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    learn.export(tmp_path / 'model.pkl')
    back = load_learner(tmp_path / 'model.pkl')
    probs_back, y_back, _ = leaf_preds(back, back.dls.test_dl(valid_df))
    np.testing.assert_allclose(probs_back, probs, atol=1e-5)
    assert list(y_back) == list(y)


def test_image_learner_with_a_body(tmp_path):
    from fastai.learner import load_learner
    from hierlearn.sampling_fastai import balanced_image_dls
    rng = np.random.default_rng(1)
    y = np.repeat(LEAVES, 12)
    images = rng.random((len(y), 8, 8)) + np.array([LEAVES.index(c) for c in y])[:, None, None] * 0.3
    dls = balanced_image_dls(images, y, (np.arange(0, 60), np.arange(0, 60) + 0), power=0, bs=16, seed=0, num_workers=0)
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
    with pytest.raises(TypeError, match='needs TabularDataLoaders'): hier_learner(dls, None, TREE)


def test_vocab_must_be_leaves(tabular_dls):
    dls, _ = tabular_dls
    small = Hierarchy.from_nested({'root': {'A': ['a1', 'a2'], 'B': ['b1', 'b2']}})
    with pytest.raises(ValueError, match=r"vocab must be a leaf of the hierarchy: .*\['b3'\]"): hier_learner(dls, None, small, 'hxe')
    with pytest.raises(TypeError, match='must be None, an nn.Module'): hier_learner(dls, 'resnet18', TREE)


def test_crm_classifier():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(0)
    y = np.repeat(LEAVES, 20)
    X = np.array([[LEAVES.index(c) // 2, LEAVES.index(c) % 2] for c in y]) + rng.normal(0, 1.5, (len(y), 2))
    clf = CRMClassifier(LogisticRegression(max_iter=500), TREE).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[crm_decode(clf.predict_proba(X), TREE, clf.classes_)])
    with pytest.raises(ValueError, match=r"\['b3'\]"):
        CRMClassifier(LogisticRegression(), Hierarchy.from_nested({'r': ['a1', 'a2', 'b1', 'b2']})).fit(X, y)
