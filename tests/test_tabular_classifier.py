"FastaiTabularClassifier keeps scikit-learn's estimator contract"
import pickle
import numpy as np, pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score, StratifiedKFold
from hierlearn.imbalance import FastaiTabularClassifier


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300),
                      "colour": pd.Categorical(rng.choice(["red", "green"], 300))})
    y = np.where(X.a + (X.colour == "red") > 1.2, "rare", "common")
    return X, y


def test_string_labels_round_trip(toy):
    X, y = toy
    clf = FastaiTabularClassifier(epochs=2, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["common", "rare"]
    assert set(clf.predict(X)) <= {"common", "rare"}
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_pickle_round_trip_keeps_predictions(toy):
    X, y = toy
    clf = FastaiTabularClassifier(epochs=1, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_clone_and_cross_validation(toy):
    X, y = toy
    clf = FastaiTabularClassifier(epochs=2, layers=(16,), random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    scores = cross_val_score(clf, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="balanced_accuracy")
    assert scores.mean() > 0.7   # the rule is learnable: far above the 0.5 of a constant guess


def test_numpy_input_and_bad_input(toy):
    X, y = toy
    clf = FastaiTabularClassifier(epochs=1, random_state=0).fit(X[["a", "b"]].to_numpy(), y)
    assert clf.predict(X[["a", "b"]].to_numpy()).shape == (len(X),)
    with pytest.raises(ValueError, match="NaN or infinite"):
        FastaiTabularClassifier().fit(X.assign(a=np.inf), y)
    with pytest.raises(ValueError, match="rows but y has"):
        FastaiTabularClassifier().fit(X, y[:-1])


def test_loss_class_gets_the_training_counts(toy):
    from hierlearn.losses import BalancedSoftmaxLoss
    X, y = toy
    clf = FastaiTabularClassifier(epochs=1, random_state=0, loss_func=BalancedSoftmaxLoss).fit(X, y)
    assert clf.learn_.loss_func.class_counts.tolist() == [(y == "common").sum(), (y == "rare").sum()]
    assert pickle.loads(pickle.dumps(clf)).predict(X).shape == (len(X),)
