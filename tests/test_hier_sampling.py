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


TOY = Hierarchy.from_nested({'r': {'A': ['a1', 'a2'], 'B': ['b']}})
_rng = np.random.default_rng(0)
TOY_X = np.vstack([_rng.normal(0, 1, (6, 2)), _rng.normal(3, 1, (20, 2)), _rng.normal(6, 1, (20, 2))])
TOY_Y = np.repeat(['a1', 'a2', 'b'], [6, 20, 20])

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: SiblingSMOTE(TOY).fit_resample(TOY_X[:0], TOY_Y[:0]), ValueError, r'^X and y have no rows'),
    (lambda: SiblingSMOTE(TOY).fit_resample(pd.DataFrame(TOY_X[:0], columns=['u', 'v']), TOY_Y[:0]), ValueError, r'^X and y have no rows'),
    (lambda: SiblingSMOTE(TOY).fit_resample(TOY_X > 1, TOY_Y), ValueError, r'^X is boolean'),
    (lambda: SiblingSMOTE(TOY).fit_resample(pd.DataFrame({'u': TOY_X[:, 0], 'flag': TOY_X[:, 1] > 1}), TOY_Y), ValueError,
     r"^columns \['flag'\] are boolean"),
    (lambda: SiblingSMOTE(TOY).fit_resample(pd.DataFrame(TOY_X, columns=['u', 'u']), TOY_Y), ValueError, r"^duplicated column names: \['u'\]"),
    (lambda: SiblingSMOTE(TOY).fit_resample(TOY_X, np.where(TOY_Y == 'b', 'c', TOY_Y)), ValueError, r"missing from the hierarchy leaves: \['c'\]"),
    (lambda: SiblingSMOTE(TOY).fit_resample(TOY_X, np.full(len(TOY_Y), 'a1')), ValueError, r"single class \('a1'\)"),
    (lambda: SiblingSMOTE(TOY).fit_resample(TOY_X[:10], TOY_Y), ValueError, r'X has 10 rows but y has 46 labels'),
    (lambda: SiblingSMOTE(Hierarchy.from_nested({'r': {'A': ['a1'], 'B': ['a2', 'b']}}), k_neighbors=6).fit_resample(TOY_X, TOY_Y),
     ValueError, r"class 'a1' has 6 rows and its sibling classes \[\] 0 more"),
    (lambda: SiblingSMOTE(TOY, sibling_gap=2).fit_resample(TOY_X, TOY_Y), ValueError, r'sibling_gap'),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()


@pytest.mark.parametrize('dtype', [np.float64, np.float32, np.int8, np.int16, np.uint8])
def test_synthetic_rows_keep_the_dtype_as_smote_does(dtype):
    "float32 stays float32 and whole numbers stay whole, truncated as imbalanced-learn's SMOTE truncates (float64 before)"
    from imblearn.over_sampling import SMOTE
    X = np.clip(np.round(TOY_X * 10), 0, 100).astype(dtype)
    Xs, _ = SMOTE(random_state=0).fit_resample(X, TOY_Y)
    Xr, _ = SiblingSMOTE(TOY, random_state=0).fit_resample(X, TOY_Y)
    assert Xr.dtype == Xs.dtype == dtype
    as_float, _ = SiblingSMOTE(TOY, random_state=0).fit_resample(X.astype(np.float64), TOY_Y)
    np.testing.assert_array_equal(Xr, as_float.astype(dtype))   # astype truncates towards zero, as SMOTE's astype does


def test_small_integers_do_not_overflow():
    "int8 rows 100 apart: the step is taken in float64, so a synthetic row lies between its two ends"
    h = Hierarchy.from_nested({'r': {'A': ['a', 'b']}})
    X = np.array([[-100], [-90], [100], [110], [120], [90], [95]], dtype=np.int8)
    y = np.array(['a', 'a', 'b', 'b', 'b', 'b', 'b'])
    Xr, yr = SiblingSMOTE(h, k_neighbors=2, sibling_gap=1, random_state=0).fit_resample(X, y)
    assert Xr.dtype == np.int8 and ((Xr[len(X):] >= -100) & (Xr[len(X):] <= 120)).all()
