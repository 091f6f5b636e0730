"""Test data shared by the tests of the deep over-samplers (test_deep_oversamplers, test_generative, test_gan)."""
import numpy as np, pandas as pd


def mixed_frame(n_major=60, n_minor=12, seed=0):
    "A table with every column kind the samplers support (a low-cardinality integer too), and a binary target"
    rng = np.random.default_rng(seed)
    n = n_major + n_minor
    X = pd.DataFrame({'age': rng.integers(18, 80, n), 'amount': rng.lognormal(7, 1, n),
                      'small_int': rng.integers(0, 4, n).astype(np.int32), 'ratio': rng.random(n).astype(np.float32),
                      'city': pd.Categorical(rng.choice(['Amsterdam', 'Delft', 'Utrecht'], n)),
                      'owner': rng.random(n) < 0.3, 'job': rng.choice(['a', 'b', 'c', 'd'], n).astype(object),
                      'grade': pd.array(rng.choice(['x', 'y'], n), dtype='string')},
                     index=np.arange(100, 100 + n))  # a non-default index
    y = pd.Series(np.r_[np.zeros(n_major, int), np.ones(n_minor, int)], index=X.index, name='default')
    return X, y


def new_rows(X, y, Xr, yr):
    "Check an over-sampler's output keeps the columns, dtypes, target name and every original row first; return the added rows"
    assert list(Xr.columns) == list(X.columns) and Xr.dtypes.to_dict() == X.dtypes.to_dict()
    assert isinstance(yr, pd.Series) and yr.name == y.name
    pd.testing.assert_frame_equal(Xr.iloc[:len(X)], X.reset_index(drop=True))  # every original row, first, unchanged
    np.testing.assert_array_equal(yr.iloc[:len(y)], y.to_numpy())
    return Xr.iloc[len(X):], yr.iloc[len(X):]
