"""Tests of hierlearn.gan beyond the chapter that only the GAN needs: the class condition and an extra condition,
early stopping after the warm-up, the sample-quality diagnostics (the runner: test_experiments_generative.py). The contract every
DeepOversampler keeps (estimator checks, round trip, sampling_strategy forms, seeds, bad input, divergence) is
tested once for all of them in test_deep_oversamplers.py."""
import numpy as np, pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from hierlearn.gan import (GANOversampler, synthetic_rows, two_sample_auc, distance_to_closest_record,
                           dcr_summary, marginal_distances, sample_quality)
from tests.frames import mixed_frame

FAST = dict(epochs=3, random_state=0)


def multiclass(seed=0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(80), np.ones(25), np.full(10, 2)].astype(int)
    X = pd.DataFrame({'a': rng.normal(size=len(y)) + 3 * y, 'b': rng.normal(size=len(y)),
                      'c': pd.Categorical(rng.choice(list('xyz'), len(y)))})
    return X, y


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


def test_few_valued_numbers_are_generated_as_categories():
    "small_int has 4 distinct values (≤ max_levels): the GAN generates it as a category, so only values that exist"
    X, y = mixed_frame()
    g = GANOversampler(**FAST)
    Xr, _ = g.fit_resample(X, y)
    assert g.discrete_ == ['small_int'] and set(Xr.small_int.iloc[len(X):]) <= set(X.small_int)


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


# --- figures for the book's text column, the vocabulary, named results

def test_diagnostic_figures_fit_the_text_column():
    "plot_marginals and plot_embedding draw at most 6.5 inches wide, with no text under 9 pt, whatever the number of panels"
    import matplotlib.pyplot as plt
    from hierlearn.gan import plot_marginals, plot_embedding
    real, other = normal_frame(60), normal_frame(60, shift=1, seed=1)
    figs = [plot_marginals(real, {'a': other, 'b': other}), plot_marginals(real, {'a': other}, ncols=2),
            plot_embedding(real, {'a': other, 'b': other, 'c': other}), plot_embedding(real, {'a': other}, method='tsne')]
    for fig in figs:
        assert fig.get_size_inches()[0] <= 6.5
        sizes = [t.get_fontsize() for t in fig.findobj(plt.Text) if t.get_text()]
        assert min(sizes) >= 9, sizes
        plt.close(fig)


def test_seeds_are_named_as_the_design_says():
    "Estimators take `random_state`; the diagnostics and experiment functions of these modules take `seed`"
    import inspect
    import hierlearn.generative as generative, hierlearn.gan as gan, hierlearn.experiments.generative as experiment
    for module in (generative, gan, experiment):
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or getattr(obj, '__module__', None) != module.__name__: continue
            if inspect.isclass(obj) and issubclass(obj, BaseException): continue
            params = inspect.signature(obj).parameters
            if inspect.isclass(obj) and hasattr(obj, 'fit_resample'): assert 'seed' not in params, name
            else: assert 'random_state' not in params, f'{module.__name__}.{name} takes random_state; the vocabulary says seed'


def test_class_statistics_are_named():
    from hierlearn.gan import class_location_scale, ClassStats
    from hierlearn.generative import TabularEncoder
    X, y = mixed_frame()
    enc = TabularEncoder().fit(X)
    stats = class_location_scale(enc.transform(X), y.to_numpy(), enc.spans)
    assert isinstance(stats, ClassStats) and stats.loc.shape == (2, enc.n_features_out_)
    assert stats.scale.shape == (2, enc.n_features_out_, enc.n_features_out_)


TOY, TOY_Y = multiclass()

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: GANOversampler(**FAST).fit_resample(TOY, TOY_Y, condition=['a'] * 5), ValueError,
     r'condition must have one value per row \(115\), got shape \(5,\)'),
    (lambda: GANOversampler(**FAST).fit_resample(TOY, TOY_Y, condition=[None] + ['a'] * 114), ValueError, r'condition has missing values'),
    (lambda: GANOversampler(gp_weight=-1).fit_resample(TOY, TOY_Y), ValueError, r"The 'gp_weight' parameter of GANOversampler must be"),
    (lambda: GANOversampler(max_levels=-1).fit_resample(TOY, TOY_Y), ValueError, r"The 'max_levels' parameter of GANOversampler must be"),
    (lambda: synthetic_rows(TOY, TOY.iloc[::-1], TOY_Y), ValueError, r'the first rows of X_res are not X'),
    (lambda: synthetic_rows(TOY, TOY.iloc[:10], TOY_Y[:10]), ValueError, r'X_res has 10 rows, fewer than the 115 given'),
    (lambda: two_sample_auc(TOY.iloc[:1], TOY), ValueError, r'need at least 2 real and 2 synthetic rows, got 1 and 115'),
    (lambda: __import__('hierlearn.gan', fromlist=['plot_embedding']).plot_embedding(TOY, {'same': TOY}, method='umap'), ValueError,
     r"method must be 'pca' or 'tsne', got 'umap'"),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()
