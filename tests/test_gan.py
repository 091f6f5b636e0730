"""Tests of hierlearn.gan beyond the chapter: imbalanced-learn's estimator checks, the mixed DataFrame round trip,
sampling_strategy forms, multi-class, extra conditions, repeatability, pipelines, the sample-quality diagnostics,
and the errors for bad input and diverging training."""
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import (check_no_attributes_set_in_init, check_parameters_default_constructible,
                                            check_get_params_invariance, check_set_params)
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks
from hierlearn.generative import TrainingDivergedError
from hierlearn.gan import (GANOversampler, synthetic_rows, two_sample_auc, distance_to_closest_record,
                           dcr_summary, marginal_distances, sample_quality)
import hierlearn.gan as gan_module
from tests.frames import mixed_frame, new_rows

FAST = dict(epochs=3, random_state=0)


@parametrize_with_checks([GANOversampler(**FAST), GANOversampler(**FAST, ac_weight=0, n_critic=2)])
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize('check', [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_api_checks(check):
    check('GANOversampler', GANOversampler())


def test_dataframe_round_trip_keeps_originals_and_dtypes():
    X, y = mixed_frame()
    Xr, yr = GANOversampler(**FAST).fit_resample(X, y)
    new, y_new = new_rows(X, y, Xr, yr)
    assert len(new) == 48 and (y_new == 1).all()
    assert set(new.small_int) <= set(X.small_int)  # generated as a category: only values that exist
    for c in ['city', 'job', 'grade', 'owner']: assert set(new[c]) <= set(X[c])
    assert new.age.between(X.age.min(), X.age.max()).all()


@pytest.mark.parametrize('strategy, expected', [
    ('auto', {0: 60, 1: 60}), ('minority', {0: 60, 1: 60}), ('not majority', {0: 60, 1: 60}), ('all', {0: 60, 1: 60}),
    (0.5, {0: 60, 1: 30}), ({1: 40}, {0: 60, 1: 40}), ({0: 70, 1: 20}, {0: 70, 1: 20})])
def test_sampling_strategy_forms(strategy, expected):
    X, y = mixed_frame()
    _, yr = GANOversampler(sampling_strategy=strategy, **FAST).fit_resample(X, y)
    assert yr.value_counts().to_dict() == expected


def multiclass(seed=0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(80), np.ones(25), np.full(10, 2)].astype(int)
    X = pd.DataFrame({'a': rng.normal(size=len(y)) + 3 * y, 'b': rng.normal(size=len(y)),
                      'c': pd.Categorical(rng.choice(list('xyz'), len(y)))})
    return X, y


def test_multiclass_and_strategies():
    X, y = multiclass()
    _, yr = GANOversampler(**FAST).fit_resample(X, y)
    assert np.bincount(yr).tolist() == [80, 80, 80]
    _, yr = GANOversampler(sampling_strategy=lambda y: {2: 70}, **FAST).fit_resample(X, y)  # a callable
    assert np.bincount(yr).tolist() == [80, 25, 70]
    _, yr = GANOversampler(sampling_strategy={1: 30, 2: 40}, **FAST).fit_resample(X, y)
    assert np.bincount(yr).tolist() == [80, 30, 40]


def test_the_condition_is_followed():
    "Classes far apart on column a: a generator trained long enough puts each class's rows near its own mean"
    X, y = multiclass()
    g = GANOversampler(sampling_strategy={0: 280, 1: 200, 2: 200}, random_state=0, epochs=60)
    Xr, yr = g.fit_resample(X, y)
    means = Xr.iloc[len(X):].groupby(yr[len(X):]).a.mean()
    assert means.is_monotonic_increasing and means[2] - means[0] > 3


def test_extra_condition():
    X, y = multiclass()
    parent = np.where(y == 0, 'head', 'tail')  # e.g. the parent of each leaf class in a label hierarchy
    g = GANOversampler(**FAST)
    Xr, yr = g.fit_resample(X, y, condition=parent)
    assert np.bincount(yr).tolist() == [80, 80, 80]
    assert list(g.condition_) == ['head', 'tail'] and g.gan_.generator.net[0].in_features == g.noise_dim + 3 + 2
    with pytest.raises(ValueError, match='one value per row'): g.fit_resample(X, y, condition=parent[:5])


def test_same_seed_same_rows_on_the_cpu():
    X, y = mixed_frame()
    a, _ = GANOversampler(**FAST).fit_resample(X, y)
    b, _ = GANOversampler(**FAST).fit_resample(X, y)
    c, _ = GANOversampler(epochs=3, random_state=1).fit_resample(X, y)
    pd.testing.assert_frame_equal(a, b)
    assert not a.iloc[len(X):].equals(c.iloc[len(X):])


def test_training_records_history_and_stops_early():
    X, y = mixed_frame()
    g = GANOversampler(random_state=0, epochs=200, patience=3, warmup=4)
    g.fit_resample(X, y)
    assert list(g.history_.columns) == ['critic_loss', 'valid_loss', 'mmd', 'generator_loss']
    assert len(g.history_) < 200 and g.best_epoch_ == g.history_.mmd.iloc[4:].idxmin()  # the best epoch after the warm-up
    assert len(g.history_) >= 4 + 3 and len(g.history_) == g.best_epoch_ + 3 + 1         # stopped `patience` epochs after it
    assert np.isfinite(g.history_.to_numpy()).all()


def test_warmup_longer_than_training_keeps_the_last_generator():
    X, y = mixed_frame()
    g = GANOversampler(random_state=0, epochs=3, warmup=10)
    g.fit_resample(X, y)
    assert len(g.history_) == 3 and g.best_epoch_ == 2


def test_in_a_pipeline():
    X, y = mixed_frame()
    X = X.select_dtypes('number')
    pipe = make_pipeline(GANOversampler(**FAST), DecisionTreeClassifier(random_state=0))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring='balanced_accuracy')
    assert len(scores) == 3 and np.isfinite(scores).all()


def test_bad_input():
    X, y = mixed_frame()
    Xbad = X.copy(); Xbad.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"missing values \(NaN/None\) in columns \['amount'\]"): GANOversampler().fit_resample(Xbad, y)
    with pytest.raises(ValueError, match=r"infinite values in columns \['amount'\]"): GANOversampler().fit_resample(X.assign(amount=np.inf), y)
    with pytest.raises(ValueError, match="column 'seen' has dtype datetime64"):
        GANOversampler().fit_resample(X.assign(seen=pd.Timestamp('2024-01-01')), y)
    y_one = y.copy(); y_one.iloc[:] = 0; y_one.iloc[0] = 1
    with pytest.raises(ValueError, match=r'classes \[1\] have a single row'): GANOversampler().fit_resample(X, y_one)
    with pytest.raises(ValueError, match='not present in the data'): GANOversampler(sampling_strategy={1: 80, 2: 80}).fit_resample(X, y)
    with pytest.raises(ValueError, match='more than 1 class'): GANOversampler().fit_resample(X, y * 0)
    with pytest.raises(TypeError, match='sparse'):
        import scipy.sparse as sp
        GANOversampler().fit_resample(sp.csr_matrix(X.select_dtypes('number').to_numpy(float)), y)


def test_diverging_training_raises():
    X, y = mixed_frame()
    with pytest.raises(TrainingDivergedError, match="GANOversampler's training diverged"):
        GANOversampler(lr=1e12, random_state=0, epochs=20).fit_resample(X, y)


# --- the diagnostics, on any sampler's output

def normal_frame(n, shift=0., seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({'x': rng.normal(size=n) + shift, 'z': rng.normal(size=n),
                         'c': pd.Categorical(rng.choice(list('abc'), n))})


def test_two_sample_auc_near_half_for_one_distribution_and_near_one_for_two():
    real = normal_frame(300, seed=0)
    assert abs(two_sample_auc(real, normal_frame(300, seed=1)) - 0.5) < 0.08
    assert two_sample_auc(real, normal_frame(300, shift=4, seed=1)) > 0.97
    assert two_sample_auc(real, real.assign(c=pd.Categorical(['a'] * 300))) > 0.7  # a categorical difference is seen too (0.83 at best)


def test_distances_zero_for_copies_and_baseline_for_fresh_draws():
    real = normal_frame(200)
    assert (distance_to_closest_record(real, real.sample(30, random_state=0)) == 0).all()
    copies = dcr_summary(real, real.iloc[:40])
    assert copies['copies'] == 1 and copies['ratio'] == 0
    fresh = dcr_summary(real, normal_frame(200, seed=1), holdout=normal_frame(200, seed=2))
    assert fresh['copies'] == 0 and 0.7 < fresh['ratio'] < 1.4


def test_marginal_distances_bounds():
    real = normal_frame(300)
    same = marginal_distances(real, real)
    assert (same.distance == 0).all() and list(same.statistic) == ['KS', 'KS', 'TV']
    far = marginal_distances(real, normal_frame(300, shift=10, seed=1).assign(c=pd.Categorical(['d'] * 300)))
    assert far.loc['x', 'distance'] == 1 and far.loc['c', 'distance'] == 1 and far.loc['z', 'distance'] < 0.2


def test_diagnostics_on_smote_output_and_arrays():
    X, y = mixed_frame(n_major=80, n_minor=20)
    Xn = X.select_dtypes('number').astype(float).to_numpy()
    Xr, yr = SMOTE(random_state=0).fit_resample(Xn, y.to_numpy())
    new, y_new = synthetic_rows(Xn, Xr, yr)
    assert new.shape == (60, 4) and (y_new == 1).all()
    q = sample_quality(Xn[y.to_numpy() == 1], {'SMOTE': new})
    assert list(q.columns) == ['two-sample AUC', 'mean KS', 'mean TV', 'DCR ratio', 'copies'] and q.loc['SMOTE', 'copies'] == 0
    with pytest.raises(ValueError, match='removed rows'): synthetic_rows(Xn, Xn[:10], y[:10])


# --- the chapter's runner

def test_run_generative_writes_results_atomically(tmp_path, monkeypatch):
    "A results file whose write dies half-way keeps its previous content, and no temporary file is left behind"
    rng = np.random.default_rng(0)
    fake = pd.DataFrame([dict(dataset=f'keel/d{d}', sampler=s, model='decision tree', metric=m, fold=f, value=rng.random(),
                              status='ok', error='', fit_seconds=0.1)
                         for d in range(4) for s in ('none', 'SMOTE', 'GAN') for m in ('g_mean', 'f1', 'roc_auc') for f in range(3)])
    monkeypatch.setattr(gan_module, 'compare', lambda *a, **k: fake)  # the grid's results, without training anything
    gan_module.run_generative(tmp_path, quick=True, n_jobs=1)
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(written) == ['generative_cd.png', 'generative_ranks_f1.csv', 'generative_ranks_g_mean.csv',
                               'generative_ranks_roc_auc.csv', 'generative_results.csv.gz', 'generative_summary.csv']
    to_csv = pd.DataFrame.to_csv
    def dies_half_way(self, path=None, *args, **kwargs):
        if Path(str(path)).name.startswith(('generative_summary', '.generative_summary')):
            Path(path).write_text('dataset,sam'); raise OSError('disk full')
        return to_csv(self, path, *args, **kwargs)
    monkeypatch.setattr(pd.DataFrame, 'to_csv', dies_half_way)
    with pytest.raises(OSError, match='disk full'): gan_module.run_generative(tmp_path, quick=True, n_jobs=1)
    assert (tmp_path/'generative_summary.csv').read_bytes() == written['generative_summary.csv']
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)  # no temporary file left
