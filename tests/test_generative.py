"""Tests of hierlearn.generative beyond the chapter that are specific to one sampler or to the encoder: TabularEncoder's
round trips, AE and VAE inside `compare`, DeepSMOTE's image shapes. The contract every DeepOversampler keeps (estimator
checks, round trip, sampling_strategy forms, seeds, bad input, divergence) is tested once for all of them in
test_deep_oversamplers.py."""
import numpy as np, pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold
from hierlearn.generative import AEOversampler, VAEOversampler, DeepSMOTE, TabularEncoder
from hierlearn.sampling import compare
from hierlearn.data import Dataset
from tests.frames import mixed_frame

FAST = dict(epochs=2, random_state=0)


def test_encoder_round_trip_of_mixed_frame():
    X, _ = mixed_frame()
    enc = TabularEncoder().fit(X)
    back = enc.inverse_transform(enc.transform(X))
    pd.testing.assert_frame_equal(back.drop(columns=['amount', 'ratio']), X.drop(columns=['amount', 'ratio']).reset_index(drop=True))
    np.testing.assert_allclose(back.amount, X.amount, rtol=1e-4)
    assert [s.kind for s in enc.spans] == ['numeric'] * 4 + ['categorical'] * 4
    assert enc.spans[-1].stop == enc.n_features_out_ == 4 + 3 + 2 + 4 + 2


def test_in_compare():
    X, y = mixed_frame(80, 20)
    ds = Dataset(X=X, y=y, name='toy', source='test', license='CC0', cat_names=['city', 'owner', 'job', 'grade'],
                 cont_names=['age', 'amount', 'small_int', 'ratio'])
    res = compare(ds, samplers={'AE': AEOversampler(epochs=2), 'VAE': VAEOversampler(epochs=2)}, models=['decision tree'],
                  cv=StratifiedKFold(2, shuffle=True, random_state=0), n_jobs=1, progress=False)
    assert (res.status == 'ok').all(), res.error.unique()


@pytest.mark.parametrize('shape', [(8, 8), (8, 8, 3), (64,)])
def test_deepsmote_shapes_and_counts(shape):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 17, (40, *shape)).astype(np.uint8)
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    Xr, yr = DeepSMOTE(**FAST).fit_resample(X, y)
    assert Xr.shape == (60, *shape) and Xr.dtype == np.uint8
    np.testing.assert_array_equal(Xr[:40], X)
    assert (np.bincount(yr) == [30, 30]).all() and (Xr[40:] <= 16).all()


def test_deepsmote_needs_image_shape_for_non_square_rows():
    X, y = np.random.default_rng(0).random((40, 12)), np.r_[np.zeros(30), np.ones(10)]
    with pytest.raises(ValueError, match='not square grey images'): DeepSMOTE(**FAST).fit_resample(X, y)
    assert DeepSMOTE(**FAST, image_shape=(3, 4)).fit_resample(X, y)[0].shape == (60, 12)


def test_wide_table_before_a_categorical_column():
    "More than 127 encoded columns before a categorical one (pandas' category codes are int8): encoder round trip, then a sampler"
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 130)), columns=[f'x{i}' for i in range(130)]).assign(c=rng.choice(['a', 'b', 'c'], 40).astype(object))
    enc = TabularEncoder().fit(X)
    Z = enc.transform(X)
    assert Z.shape == (40, 133) and enc.spans[-1].start == 130 and (Z[:, 130:].sum(1) == 1).all()
    back = enc.inverse_transform(Z)
    pd.testing.assert_series_equal(back.c, X.c)
    np.testing.assert_allclose(back.drop(columns='c'), X.drop(columns='c'), rtol=1e-4, atol=1e-4)
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    Xr, yr = AEOversampler(**FAST).fit_resample(X, y)
    assert Xr.shape == (60, 131) and np.bincount(yr).tolist() == [30, 30] and set(Xr.c) <= {'a', 'b', 'c'}


IMAGES, LABELS = np.random.default_rng(0).integers(0, 17, (40, 8, 8)).astype(np.uint8), np.r_[np.zeros(30, int), np.ones(10, int)]
TABLE = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=['a', 'b', 'c'])

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: DeepSMOTE(**FAST).fit_resample(IMAGES[:, None, :, :, None], LABELS), ValueError,   # "rows of 1 values" before
     r'^DeepSMOTE takes images as \(n, h, w\), \(n, h, w, c\) or flattened rows, got a 5-D array of shape \(40, 1, 8, 8, 1\)'),
    (lambda: DeepSMOTE(**FAST).fit_resample(IMAGES.reshape(40, 2, 2, 4, 4), LABELS), ValueError, r'got a 5-D array of shape \(40, 2, 2, 4, 4\)'),
    (lambda: DeepSMOTE(**FAST).fit_resample(IMAGES.reshape(40, 1, 1, 2, 4, 8), LABELS), ValueError, r'got a 6-D array'),
    (lambda: DeepSMOTE(**FAST).fit_resample(IMAGES.reshape(40, -1)[:, :12], LABELS), ValueError, r'rows of 12 values are not square grey images'),
    (lambda: DeepSMOTE(**FAST, image_shape=(3, 5)).fit_resample(IMAGES.reshape(40, -1)[:, :12], LABELS), ValueError,
     r'image_shape \(3, 5\) has 15 pixels but rows have 12 values'),
    (lambda: DeepSMOTE(**FAST).fit_resample(IMAGES.astype(str), LABELS), ValueError, r'DeepSMOTE needs numeric pixels'),
    (lambda: DeepSMOTE(**FAST).fit_resample(pd.DataFrame(IMAGES.reshape(40, -1)).set_axis([0] * 64, axis=1), LABELS), ValueError,
     r'^duplicated column names: \[0\]'),
    (lambda: TabularEncoder().fit(TABLE.set_axis(['a', 'b', 'a'], axis=1)), ValueError, r"^duplicated column names: \['a'\]"),
    (lambda: TabularEncoder().fit(TABLE.iloc[:0]), ValueError, r'X has no rows'),
    (lambda: TabularEncoder().fit(TABLE.to_numpy()[:, :, None]), ValueError, r'X must be 2-D \(rows × columns\), got shape \(40, 3, 1\)'),
    (lambda: TabularEncoder(numeric='log').fit(TABLE), ValueError, r"numeric must be 'power' or 'standard', got 'log'"),
    (lambda: TabularEncoder().fit(TABLE).transform(TABLE.drop(columns='b')), ValueError, r"X lacks the columns \['b'\] seen in fit"),
    (lambda: TabularEncoder().fit(TABLE).inverse_transform(np.zeros((2, 4))), ValueError, r'Z must have 3 columns, got shape \(2, 4\)'),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()
