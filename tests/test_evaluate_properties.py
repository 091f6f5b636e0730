"Property tests of `evaluate`: it agrees with scikit-learn / imbalanced-learn and behaves as the definitions say"
import numpy as np
from hypothesis import given, settings, strategies as st
from sklearn.metrics import balanced_accuracy_score, recall_score
from hierlearn.imbalance import evaluate, imbalance_ratio, class_counts

labels = st.lists(st.sampled_from([0, 1, 2]), min_size=4, max_size=60)


@settings(max_examples=60, deadline=None)
@given(labels, st.randoms(use_true_random=False))
def test_scores_match_their_definitions(y_true, rnd):
    y_true = np.array(y_true)
    if len(np.unique(y_true)) < 2: y_true[:2] = [0, 1]
    y_pred = np.array([rnd.choice([0, 1, 2]) for _ in y_true])
    m = evaluate(y_true, y_pred)
    classes = np.unique(y_true)
    recalls = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    assert np.isclose(m["balanced_accuracy"], balanced_accuracy_score(y_true, y_pred))
    assert np.isclose(m["g_mean"], np.prod(recalls) ** (1 / len(classes)), atol=1e-9)
    if len(classes) == 2:
        minority = class_counts(y_true).index[-1]
        tp = np.sum((y_pred == minority) & (y_true == minority))
        fp, fn = np.sum((y_pred == minority) & (y_true != minority)), np.sum((y_pred != minority) & (y_true == minority))
        assert np.isclose(m["f1"], 2 * tp / (2 * tp + fp + fn) if tp else 0.0)   # F1 of the minority class, by definition
    for v in m.values(): assert -1 <= v <= 1


@settings(max_examples=40, deadline=None)
@given(labels)
def test_perfect_prediction_scores_one(y):
    y = np.array(y)
    if len(np.unique(y)) < 2: y[:2] = [0, 1]
    m = evaluate(y, y)
    for k in ("accuracy", "f1", "g_mean", "balanced_accuracy", "mcc"): assert np.isclose(m[k], 1.0)


@settings(max_examples=40, deadline=None)
@given(labels)
def test_renaming_classes_changes_nothing(y):
    y = np.array(y)
    if len(np.unique(y)) < 2: y[:2] = [0, 1]
    pred = np.roll(y, 1)
    names = np.array(["cat", "dog", "eel"])
    a, b = evaluate(y, pred), evaluate(names[y], names[pred])
    for k in a: assert np.isclose(a[k], b[k])


@given(st.integers(1, 50), st.integers(1, 50))
def test_imbalance_ratio_is_majority_over_minority(a, b):
    y = [0] * a + [1] * b
    assert np.isclose(imbalance_ratio(y), max(a, b) / min(a, b))
