"""Tests of hierlearn.generative beyond the chapter: imbalanced-learn's estimator checks, the DataFrame round trip,
the sampling_strategy forms, repeatability, pipelines, and the errors for bad input and diverging training."""
import random
import numpy as np, pandas as pd
import pytest
import torch
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import (check_no_attributes_set_in_init, check_parameters_default_constructible,
                                            check_get_params_invariance, check_set_params)
from imblearn.pipeline import make_pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks
from hierlearn.generative import AEOversampler, VAEOversampler, DeepSMOTE, TabularEncoder, TrainingDivergedError
from hierlearn.gan import GANOversampler
from hierlearn.sampling import compare
from hierlearn.data import Dataset
from tests.frames import mixed_frame, new_rows

FAST = dict(epochs=2, random_state=0)
SAMPLERS = [AEOversampler, VAEOversampler]
DEEP_SAMPLERS = [*SAMPLERS, GANOversampler, DeepSMOTE]  # every DeepOversampler: the base's contract holds for all

# imbalanced-learn's checks feed DeepSMOTE plain tables of 2, 3 or 20 columns: read them as 1×2, 1×3 and 4×5 images
CHECK_IMAGE_SHAPES = {'check_samplers_fit': (1, 2), 'check_sampler_get_feature_names_out': (1, 3),
                      'check_sampler_get_feature_names_out_pandas': (1, 3)}


@parametrize_with_checks([AEOversampler(**FAST), VAEOversampler(**FAST), VAEOversampler(**FAST, sample_from='prior'),
                          DeepSMOTE(**FAST)])
def test_imblearn_estimator_checks(estimator, check):
    if isinstance(estimator, DeepSMOTE): estimator.set_params(image_shape=CHECK_IMAGE_SHAPES.get(check.func.__name__, (4, 5)))
    check(estimator)


@pytest.mark.parametrize('cls', [*SAMPLERS, DeepSMOTE])
@pytest.mark.parametrize('check', [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_api_checks(cls, check):
    check(cls.__name__, cls())


@pytest.mark.parametrize('cls', SAMPLERS)
def test_dataframe_round_trip_keeps_originals_and_dtypes(cls):
    X, y = mixed_frame()
    Xr, yr = cls(**FAST).fit_resample(X, y)
    new, y_new = new_rows(X, y, Xr, yr)
    assert len(new) == 48 and (y_new == 1).all()
    for c in ['age', 'amount', 'small_int', 'ratio']:  # numbers within the seen range
        assert new[c].between(X[c].min(), X[c].max()).all()
    assert (new.age == new.age.round()).all()
    for c in ['city', 'job', 'grade']: assert set(new[c]) <= set(X[c])
    assert new.notna().all().all()


def test_encoder_round_trip_of_mixed_frame():
    X, _ = mixed_frame()
    enc = TabularEncoder().fit(X)
    back = enc.inverse_transform(enc.transform(X))
    pd.testing.assert_frame_equal(back.drop(columns=['amount', 'ratio']), X.drop(columns=['amount', 'ratio']).reset_index(drop=True))
    np.testing.assert_allclose(back.amount, X.amount, rtol=1e-4)
    assert [s.kind for s in enc.spans] == ['numeric'] * 4 + ['categorical'] * 4
    assert enc.spans[-1].stop == enc.n_features_out_ == 4 + 3 + 2 + 4 + 2


def three_classes(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(m, 1, (n, 4)) for m, n in [(0, 60), (3, 20), (-3, 10)]])
    return X, np.repeat(['major', 'middle', 'rare'], [60, 20, 10])


@pytest.mark.parametrize('cls', SAMPLERS)
@pytest.mark.parametrize('strategy, expected', [
    ('auto', {'major': 60, 'middle': 60, 'rare': 60}),
    ('not majority', {'major': 60, 'middle': 60, 'rare': 60}),
    ('minority', {'major': 60, 'middle': 20, 'rare': 60}),
    ('not minority', {'major': 60, 'middle': 60, 'rare': 10}),
    ('all', {'major': 60, 'middle': 60, 'rare': 60}),
    ({'rare': 25, 'middle': 30}, {'major': 60, 'middle': 30, 'rare': 25}),
    (lambda y: {'rare': 2 * int((y == 'rare').sum())}, {'major': 60, 'middle': 20, 'rare': 20}),
])
def test_sampling_strategy_forms_multiclass(cls, strategy, expected):
    X, y = three_classes()
    Xr, yr = cls(sampling_strategy=strategy, **FAST).fit_resample(X, y)
    assert dict(zip(*np.unique(yr, return_counts=True))) == expected
    np.testing.assert_array_equal(Xr[:len(X)], X)
    assert np.isfinite(Xr).all() and Xr.dtype == X.dtype


@pytest.mark.parametrize('cls', SAMPLERS)
def test_float_strategy_binary(cls):
    X, y = mixed_frame()
    _, yr = cls(sampling_strategy=0.5, **FAST).fit_resample(X, y)
    assert yr.value_counts().to_dict() == {0: 60, 1: 30}


def sixteen_columns():
    "90 rows in three classes, 16 non-negative columns: a table for AE/VAE/GAN, 4×4 grey images for DeepSMOTE"
    X, y = three_classes()
    return np.abs(X[:, :4]).repeat(4, axis=1), y


@pytest.mark.parametrize('cls', [*SAMPLERS, DeepSMOTE])
def test_repeatable_with_a_seed(cls):
    X, y = sixteen_columns()
    a, _ = cls(**FAST).fit_resample(X, y)
    b, _ = cls(**FAST).fit_resample(X, y)
    c, _ = cls(epochs=2, random_state=1).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize('cls', SAMPLERS)
def test_in_a_pipeline(cls):
    X, y = mixed_frame(120, 30)
    X = X.select_dtypes('number')
    pipe = make_pipeline(cls(epochs=3), DecisionTreeClassifier(random_state=0))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring='balanced_accuracy')
    assert len(scores) == 3 and np.isfinite(scores).all()


def test_in_compare():
    X, y = mixed_frame(80, 20)
    ds = Dataset(X=X, y=y, name='toy', source='test', license='CC0', cat_names=['city', 'owner', 'job', 'grade'],
                 cont_names=['age', 'amount', 'small_int', 'ratio'])
    res = compare(ds, samplers={'AE': AEOversampler(epochs=2), 'VAE': VAEOversampler(epochs=2)}, models=['decision tree'],
                  cv=StratifiedKFold(2, shuffle=True, random_state=0), n_jobs=1, progress=False)
    assert (res.status == 'ok').all(), res.error.unique()


@pytest.mark.parametrize('cls', SAMPLERS)
@pytest.mark.parametrize('bad, message', [
    (lambda X: X.assign(amount=np.where(np.arange(len(X)) == 3, np.nan, X.amount)), "missing values (NaN/None) in columns ['amount']"),
    (lambda X: X.assign(amount=np.inf), "infinite values in columns ['amount']"),
    (lambda X: X.assign(job=[None] + list(X.job[1:])), "missing values (NaN/None) in columns ['job']"),
    (lambda X: X.assign(when=pd.Timestamp('2024-01-01')), "column 'when' has dtype datetime64"),
    (lambda X: X.assign(obj=[object()] * len(X)), "column 'obj' has object dtype"),
])
def test_bad_columns_are_named(cls, bad, message):
    X, y = mixed_frame()
    with pytest.raises(ValueError) as e: cls(**FAST).fit_resample(bad(X), y)
    assert message in str(e.value)


@pytest.mark.parametrize('cls', [*SAMPLERS, DeepSMOTE])
def test_bad_targets(cls):
    X = np.random.default_rng(0).random((30, 4))
    with pytest.raises(ValueError, match='needs to have more than 1 class'): cls(**FAST).fit_resample(X, np.zeros(30))
    with pytest.raises(ValueError, match=r'classes \[1\] have a single row'): cls(**FAST).fit_resample(X, np.r_[np.zeros(29, int), 1])
    with pytest.raises(ValueError, match='not present in the data'):
        cls(sampling_strategy={0: 30, 1: 30, 2: 30}, **FAST).fit_resample(X, np.r_[np.zeros(20), np.ones(10)])
    with pytest.raises(TypeError, match='sparse'):
        import scipy.sparse as sp
        cls(**FAST).fit_resample(sp.csr_matrix(X), np.r_[np.zeros(20), np.ones(10)])


@pytest.mark.parametrize('cls', [*SAMPLERS, DeepSMOTE])
def test_diverging_training_raises(cls):
    X, y = three_classes()
    X = np.abs(X).repeat(4, axis=1)
    with pytest.raises(TrainingDivergedError, match='diverged.*lower lr'): cls(lr=1e6, epochs=5, random_state=0).fit_resample(X, y)


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


@pytest.mark.parametrize('cls', DEEP_SAMPLERS)
def test_rows_and_labels_must_match_before_any_training(cls, monkeypatch):
    "X and y of different lengths: a ValueError naming both, from the base's checks (VAE and GAN used to return 95 rows with 90 labels)"
    monkeypatch.setattr(cls, '_fit_resample', lambda *a, **k: pytest.fail('trained on mismatched X and y'))
    X, y = sixteen_columns()
    with pytest.raises(ValueError, match=r'inconsistent numbers of samples: \[95, 90\]'): cls(**FAST).fit_resample(np.r_[X, X[:5]], y)
    with pytest.raises(ValueError, match=r'inconsistent numbers of samples: \[90, 85\]'): cls(**FAST).fit_resample(X, y[:85])
    with pytest.raises(ValueError, match=r'inconsistent numbers of samples: \[90, 85\]'): cls(**FAST).fit(X, y[:85])


@pytest.mark.parametrize('cls', DEEP_SAMPLERS)
def test_seeded_fit_leaves_the_callers_random_state_and_cudnn_flags(cls, monkeypatch):
    "A seeded fit_resample seeds its own work only: the caller's random, NumPy and torch streams and cudnn flags are as before"
    monkeypatch.setattr(torch.backends.cudnn, 'deterministic', False)  # not what a seeded run sets (True, False)
    monkeypatch.setattr(torch.backends.cudnn, 'benchmark', True)
    X, y = sixteen_columns()
    draw = lambda: (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(1); np.random.seed(1); torch.manual_seed(1)
    expected = draw()
    random.seed(1); np.random.seed(1); torch.manual_seed(1)
    cls(**FAST).fit_resample(X, y)
    assert draw() == expected
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)


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
