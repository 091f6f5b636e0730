"Properties of `SiblingSMOTE` on random trees and data, beyond the chapter's examples"
import numpy as np, pandas as pd, pytest
from hypothesis import assume, given, settings, strategies as st
from sklearn.base import clone
from hierlearn.hierarchy import Hierarchy, ECOLI_HIERARCHY
from hierlearn.hier_sampling import SiblingSMOTE
from hierlearn.data import load_dataset


@st.composite
def grouped_data(draw):
    "A two-level tree of 2-4 groups with 1-3 leaves each, and 2-D data with 2-30 rows per leaf"
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    nested = {f'g{i}': [f'g{i}c{j}' for j in range(k)] for i, k in enumerate(sizes)}
    h = Hierarchy.from_nested({'root': nested})
    counts = [draw(st.integers(8, 30)) if i == 0 else draw(st.integers(2, 30)) for i, _ in enumerate(h.leaves)]
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    X = np.vstack([rng.normal(rng.uniform(-5, 5, 2), 1, (n, 2)) for n in counts])
    y = np.repeat(h.leaves, counts)
    return h, X, y


def _pool_ok(h, y, k):
    "Every class that is over-sampled has more than k rows among itself and its siblings"
    s = pd.Series(y).value_counts()
    return all(s[c] + sum(s.get(b, 0) for b in h.children(h.parent(c)) if b != c) > k for c in s.index if s[c] < s.max())


@settings(max_examples=40, deadline=None)
@given(grouped_data(), st.floats(0, 1), st.integers(1, 5))
def test_sibling_smote_keeps_rows_balances_and_stays_inside_the_family(data, gap, k):
    h, X, y = data
    assume(_pool_ok(h, y, k))
    s = SiblingSMOTE(h, k_neighbors=k, sibling_gap=gap, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    np.testing.assert_array_equal(Xr[:len(y)], X); np.testing.assert_array_equal(yr[:len(y)], y)
    assert pd.Series(yr).value_counts().nunique() == 1
    for c in np.unique(y):
        family = np.isin(y, [c] + s.siblings_.get(c, []))
        new = Xr[len(y):][yr[len(y):] == c]
        if len(new): assert (new >= X[family].min(0) - 1e-9).all() and (new <= X[family].max(0) + 1e-9).all()


def test_gap_zero_never_moves_towards_a_sibling():
    h = Hierarchy.from_nested({'r': {'A': ['a', 'b']}})
    X = np.array([[0., 0.], [10., 10.], [11., 10.], [10., 11.], [11., 11.], [10.5, 10.5], [12., 12.]])
    y = np.array(['a'] + ['b'] * 6)
    Xr, yr = SiblingSMOTE(h, k_neighbors=3, sibling_gap=0, random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xr[len(y):], np.zeros((5, 2)))   # a's only row, repeated


def test_clone_and_repr_and_integer_labels():
    h = Hierarchy.from_nested({'r': {'A': [0, 1], 'B': [2]}})
    s = clone(SiblingSMOTE(h, k_neighbors=2, random_state=1))
    assert s.hierarchy == h and 'SiblingSMOTE' in repr(s)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), pd.Series([0] * 3 + [1] * 17 + [2] * 20, name='label')
    Xr, yr = s.fit_resample(pd.DataFrame(X, columns=list('abc')), y)
    assert list(Xr.columns) == list('abc') and yr.name == 'label' and yr.value_counts().to_dict() == {0: 20, 1: 20, 2: 20}


def test_categorical_columns_are_refused_with_advice():
    ds = load_dataset('ecoli')
    X = ds.X.assign(extra=pd.Categorical(['u'] * len(ds.X)))
    with pytest.raises(ValueError, match='one-hot encode'): SiblingSMOTE(ECOLI_HIERARCHY).fit_resample(X, ds.y)


def test_dict_strategy_only_touches_the_named_class():
    ds = load_dataset('ecoli')
    s = SiblingSMOTE(ECOLI_HIERARCHY, sampling_strategy={'imL': 30}, random_state=0)
    _, yr = s.fit_resample(ds.X, ds.y)
    assert yr.value_counts()['imL'] == 30 and len(yr) == len(ds.y) + 28 and list(s.borrowed_) == ['imL']
