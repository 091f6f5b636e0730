"""The contract every DeepOversampler keeps (AEOversampler, VAEOversampler, DeepSMOTE, GANOversampler), tested once for
all of them: imbalanced-learn's and scikit-learn's estimator checks, every original row kept, the sampling_strategy forms,
repeatability with a seed and the caller's random state left alone, pipelines, and the errors for bad input and
diverging training. What only one sampler does is tested in test_generative.py and test_gan.py."""
import random, re
import numpy as np, pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import (check_no_attributes_set_in_init, check_parameters_default_constructible,
                                            check_get_params_invariance, check_set_params)
from imblearn.pipeline import make_pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks
from hierlearn.generative import AEOversampler, VAEOversampler, DeepSMOTE, TrainingDivergedError
from hierlearn.gan import GANOversampler
from tests.frames import mixed_frame, new_rows

FAST = dict(epochs=2, random_state=0)
TABULAR = [AEOversampler, VAEOversampler, GANOversampler]  # the samplers of mixed tables
ALL = [*TABULAR, DeepSMOTE]  # every DeepOversampler: DeepSMOTE reads rows of numbers as grey images

# imbalanced-learn's checks feed DeepSMOTE plain tables of 2, 3 or 20 columns: read them as 1×2, 1×3 and 4×5 images
CHECK_IMAGE_SHAPES = {'check_samplers_fit': (1, 2), 'check_sampler_get_feature_names_out': (1, 3),
                      'check_sampler_get_feature_names_out_pandas': (1, 3)}


@parametrize_with_checks([AEOversampler(**FAST), VAEOversampler(**FAST), VAEOversampler(**FAST, sample_from='prior'),
                          DeepSMOTE(**FAST), GANOversampler(**FAST), GANOversampler(**FAST, ac_weight=0, n_critic=2)])
def test_imblearn_estimator_checks(estimator, check):
    if isinstance(estimator, DeepSMOTE): estimator.set_params(image_shape=CHECK_IMAGE_SHAPES.get(check.func.__name__, (4, 5)))
    check(estimator)


@pytest.mark.parametrize('cls', ALL)
@pytest.mark.parametrize('check', [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_api_checks(cls, check):
    check(cls.__name__, cls())


def three_classes(seed=0):
    "90 rows of 4 columns in three classes (2×2 grey images for DeepSMOTE)"
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(m, 1, (n, 4)) for m, n in [(0, 60), (3, 20), (-3, 10)]])
    return X, np.repeat(['major', 'middle', 'rare'], [60, 20, 10])


def sixteen_columns():
    "90 rows in three classes, 16 non-negative columns: a table for AE/VAE/GAN, 4×4 grey images for DeepSMOTE"
    X, y = three_classes()
    return np.abs(X[:, :4]).repeat(4, axis=1), y


@pytest.mark.parametrize('cls', TABULAR)
def test_dataframe_round_trip_keeps_originals_and_dtypes(cls):
    X, y = mixed_frame()
    Xr, yr = cls(**FAST).fit_resample(X, y)
    new, y_new = new_rows(X, y, Xr, yr)  # columns, dtypes, target name and every original row first, unchanged
    assert len(new) == 48 and (y_new == 1).all()
    for c in ['age', 'amount', 'small_int', 'ratio']:  # numbers within the seen range
        assert new[c].between(X[c].min(), X[c].max()).all()
    assert (new.age == new.age.round()).all()
    for c in ['city', 'owner', 'job', 'grade']: assert set(new[c]) <= set(X[c])
    assert new.notna().all().all()


@pytest.mark.parametrize('cls', ALL)
@pytest.mark.parametrize('strategy, expected', [
    ('auto', {'major': 60, 'middle': 60, 'rare': 60}),
    ('not majority', {'major': 60, 'middle': 60, 'rare': 60}),
    ('minority', {'major': 60, 'middle': 20, 'rare': 60}),
    ('not minority', {'major': 60, 'middle': 60, 'rare': 10}),
    ('all', {'major': 60, 'middle': 60, 'rare': 60}),
    ({'rare': 25, 'middle': 30}, {'major': 60, 'middle': 30, 'rare': 25}),
    ({'major': 70, 'rare': 20}, {'major': 70, 'middle': 20, 'rare': 20}),  # the majority over-sampled too
    (lambda y: {'rare': 2 * int((y == 'rare').sum())}, {'major': 60, 'middle': 20, 'rare': 20}),
])
def test_sampling_strategy_forms_multiclass(cls, strategy, expected):
    X, y = three_classes()
    Xr, yr = cls(sampling_strategy=strategy, **FAST).fit_resample(X, y)
    assert dict(zip(*np.unique(yr, return_counts=True))) == expected
    np.testing.assert_array_equal(Xr[:len(X)], X)  # every original row, first, unchanged
    np.testing.assert_array_equal(yr[:len(y)], y)
    assert np.isfinite(Xr).all() and Xr.dtype == X.dtype


@pytest.mark.parametrize('cls', ALL)
def test_float_strategy_binary(cls):
    X, y = sixteen_columns()
    y = np.where(y == 'major', 0, 1)  # 60 against 30
    _, yr = cls(sampling_strategy=0.75, **FAST).fit_resample(X, y)
    assert np.bincount(yr).tolist() == [60, 45]


@pytest.mark.parametrize('cls, data', [*[(c, 'array') for c in ALL], *[(c, 'frame') for c in TABULAR]])
def test_repeatable_with_a_seed(cls, data):
    X, y = sixteen_columns() if data == 'array' else mixed_frame()
    a, _ = cls(**FAST).fit_resample(X, y)
    b, _ = cls(**FAST).fit_resample(X, y)
    c, _ = cls(epochs=2, random_state=1).fit_resample(X, y)
    if data == 'array':
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    else:
        pd.testing.assert_frame_equal(a, b)
        assert not a.iloc[len(X):].equals(c.iloc[len(X):])


@pytest.mark.parametrize('cls', ALL)
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


@pytest.mark.parametrize('cls', TABULAR)
def test_in_a_pipeline(cls):
    X, y = mixed_frame(120, 30)
    X = X.select_dtypes('number')
    pipe = make_pipeline(cls(epochs=3, random_state=0), DecisionTreeClassifier(random_state=0))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring='balanced_accuracy')
    assert len(scores) == 3 and np.isfinite(scores).all()


@pytest.mark.parametrize('cls', TABULAR)
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


@pytest.mark.parametrize('cls', ALL)
@pytest.mark.parametrize('names, duplicated', [(['a', 'b', 'a', 'c'], ['a']), ([0, 0, 1, 1], [0, 1]), (['x'] * 4, ['x'])])
def test_duplicated_column_names_are_named_before_any_training(cls, names, duplicated, monkeypatch):
    "Two columns of one name: our ValueError from the shared check, not narwhals' DuplicateError nor pandas' errors further on"
    monkeypatch.setattr(cls, '_fit_resample', lambda *a, **k: pytest.fail('trained on a table with duplicated column names'))
    X, y = sixteen_columns()
    frame = pd.DataFrame(X[:, :4], columns=names)
    with pytest.raises(ValueError, match=rf'^duplicated column names: {re.escape(str(duplicated))}'): cls(**FAST).fit_resample(frame, y)


@pytest.mark.parametrize('cls', ALL)
def test_bad_pixels_or_values_are_refused(cls):
    "NaN or infinite numbers in a plain array: refused before any training, by every sampler"
    X, y = sixteen_columns()
    for v in (np.nan, np.inf):
        Xbad = X.copy(); Xbad[3, 1] = v
        with pytest.raises(ValueError, match='(?i)nan|infinite'): cls(**FAST).fit_resample(Xbad, y)


@pytest.mark.parametrize('cls', ALL)
def test_bad_targets(cls):
    X = np.random.default_rng(0).random((30, 4))
    with pytest.raises(ValueError, match='needs to have more than 1 class'): cls(**FAST).fit_resample(X, np.zeros(30))
    with pytest.raises(ValueError, match=rf'classes \[1\] have a single row; {cls.__name__} needs at least 2 rows'):
        cls(**FAST).fit_resample(X, np.r_[np.zeros(29, int), 1])
    with pytest.raises(ValueError, match='not present in the data'):
        cls(sampling_strategy={0: 30, 1: 30, 2: 30}, **FAST).fit_resample(X, np.r_[np.zeros(20), np.ones(10)])
    with pytest.raises(TypeError, match=f'{cls.__name__} does not take sparse input'):
        cls(**FAST).fit_resample(sp.csr_matrix(X), np.r_[np.zeros(20), np.ones(10)])


@pytest.mark.parametrize('cls', ALL)
def test_rows_and_labels_must_match_before_any_training(cls, monkeypatch):
    "X and y of different lengths: a ValueError naming both, from the base's checks (VAE and GAN used to return 95 rows with 90 labels)"
    monkeypatch.setattr(cls, '_fit_resample', lambda *a, **k: pytest.fail('trained on mismatched X and y'))
    X, y = sixteen_columns()
    with pytest.raises(ValueError, match=r'inconsistent numbers of samples: \[95, 90\]'): cls(**FAST).fit_resample(np.r_[X, X[:5]], y)
    with pytest.raises(ValueError, match=r'inconsistent numbers of samples: \[90, 85\]'): cls(**FAST).fit_resample(X, y[:85])
    with pytest.raises(ValueError, match=r'inconsistent numbers of samples: \[90, 85\]'): cls(**FAST).fit(X, y[:85])


@pytest.mark.parametrize('cls', ALL)
def test_diverging_training_raises(cls):
    "A far too large learning rate: a TrainingDivergedError naming the sampler and the cure, not NaN rows"
    X, y = sixteen_columns()
    with pytest.raises(TrainingDivergedError, match=rf"{cls.__name__}('s training)? .*diverged.*lower lr"):
        cls(lr=1e12, epochs=20, random_state=0).fit_resample(X, y)
