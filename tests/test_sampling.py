"""Tests of `hierlearn.sampling` that do not belong in the chapter: Dask, resuming, properties of the samplers."""
import json
import numpy as np, pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.model_selection import RepeatedStratifiedKFold
from hierlearn.data import Dataset, load_dataset
from hierlearn.sampling import (SAMPLERS, compare, check_resampling_input, rank_table,
                                friedman_nemenyi, score_table)

CV3 = RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=0)
SMALL = 'keel/ecoli-0-3-4_vs_5'


def test_same_seed_same_numbers_different_seed_different_folds():
    a = compare(SMALL, ['SMOTE', 'random under'], ['decision tree'], n_jobs=2, seed=1, progress=False,
                cv=RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=1))
    b = compare(SMALL, ['SMOTE', 'random under'], ['decision tree'], n_jobs=1, seed=1, progress=False,
                cv=RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=1))
    pd.testing.assert_frame_equal(a.drop(columns='fit_seconds'), b.drop(columns='fit_seconds'))
    c = compare(SMALL, ['SMOTE', 'random under'], ['decision tree'], n_jobs=2, seed=2, progress=False,
                cv=RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=2))
    assert not np.allclose(a.value, c.value)
    assert set(a.repeat) == {0, 1} and set(a.fold) == {0, 1, 2}


def test_default_cv_is_kovacs_protocol():
    r = compare(SMALL, ['none'], ['kNN'], n_jobs=2, progress=False)
    assert len(r) == 15 * 4 and set(r.repeat) == {0, 1, 2} and set(r.fold) == set(range(5))
    assert set(r.metric) == {'roc_auc', 'g_mean', 'f1', 'balanced_accuracy'}


def test_cache_resumes_an_interrupted_run(tmp_path):
    args = dict(datasets=SMALL, models=['kNN'], cv=CV3, n_jobs=2, progress=False, cache_dir=tmp_path)
    first = compare(samplers=['SMOTE'], **args)          # "interrupted": only part of the grid finished
    files = {p: p.stat().st_mtime_ns for p in tmp_path.rglob('*.json')}
    assert len(files) == 3
    full = compare(samplers=['SMOTE', 'ADASYN'], **args)  # the rerun only computes what is missing
    assert len(list(tmp_path.rglob('*.json'))) == 6
    assert all(p.stat().st_mtime_ns == t for p, t in files.items())
    pd.testing.assert_frame_equal(first, full[full.sampler == 'SMOTE'].reset_index(drop=True))


def test_damaged_cache_file_is_named_and_recomputed(tmp_path):
    args = dict(datasets=SMALL, samplers=['SMOTE'], models=['kNN'], cv=CV3, n_jobs=1, progress=False, cache_dir=tmp_path)
    clean = compare(**args)
    damaged = sorted(tmp_path.rglob('*.json'))[0]
    damaged.write_text(damaged.read_text()[:10])          # cut short, as by a crash of an older version
    with pytest.warns(UserWarning, match=damaged.name):
        again = compare(**args)
    pd.testing.assert_frame_equal(clean.drop(columns='fit_seconds'), again.drop(columns='fit_seconds'))
    json.loads(damaged.read_text())                      # rewritten whole
    assert not [p for p in tmp_path.rglob('*') if p.is_file() and p.suffix != '.json']   # no temporary files left


def test_cache_key_changes_with_parameters(tmp_path):
    from imblearn.over_sampling import SMOTE
    args = dict(datasets=SMALL, models=['kNN'], cv=CV3, n_jobs=1, progress=False, cache_dir=tmp_path)
    compare(samplers={'s': SMOTE(k_neighbors=5)}, **args)
    compare(samplers={'s': SMOTE(k_neighbors=3)}, **args)  # same name, other parameters: not a cache hit
    assert len(list(tmp_path.rglob('*.json'))) == 6


def test_failed_sampler_is_recorded_and_run_goes_on(tmp_path):
    from imblearn.over_sampling import SMOTE
    r = compare('keel/glass-0-4_vs_5', {'bad': SMOTE(k_neighbors=50), 'SMOTE': 'SMOTE'}, ['kNN'], cv=CV3, n_jobs=2,
                progress=False, cache_dir=tmp_path)
    bad = r[r.sampler == 'bad']
    assert (bad.status == 'failed').all() and bad.value.isna().all() and bad.error.str.contains('ValueError').all()
    assert (r[r.sampler == 'SMOTE'].status == 'ok').all()
    cached = [json.loads(p.read_text()) for p in tmp_path.rglob('*.json')]
    assert sum(c['status'] == 'failed' for c in cached) == 3
    # ranks: the failed sampler takes the score of no re-sampling ('baseline') or drops out ('drop')
    r2 = compare('keel/glass-0-4_vs_5', {'none': None, 'bad': SMOTE(k_neighbors=50)}, ['kNN'], cv=CV3, n_jobs=2, progress=False)
    assert rank_table(r2, 'roc_auc').loc['bad', 'kNN'] == 1.5
    assert score_table(r2, 'roc_auc', failed='drop', model='kNN')['bad'].isna().all()


def test_ensembles_only_with_sampler_none():
    r = compare(SMALL, ['none', 'SMOTE'], ['kNN', 'EasyEnsemble'], cv=CV3, n_jobs=2, progress=False)
    assert set(r[r.model == 'EasyEnsemble'].sampler) == {'none'}
    assert set(r[r.model == 'kNN'].sampler) == {'none', 'SMOTE'}


def test_bad_input():
    base = load_dataset(SMALL)
    with pytest.raises(ValueError, match='single class'):
        compare(Dataset(base.X, base.y * 0, 'one', '', ''), ['SMOTE'], ['kNN'], cv=CV3)
    X = base.X.copy(); X.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match='missing values'):
        compare(Dataset(X, base.y, 'nan', '', ''), ['SMOTE'], ['kNN'], cv=CV3)
    with pytest.raises(KeyError, match="Unknown sampler 'SMOTEE'. Did you mean 'SMOTE'"):
        compare(base, ['SMOTEE'], ['kNN'], cv=CV3)
    with pytest.raises(TypeError, match='a dataset must be'):
        compare([np.zeros((3, 2))], ['SMOTE'], ['kNN'], cv=CV3)
    # string labels and categorical features work
    ds = Dataset(base.X.assign(c=pd.Categorical(['a', 'b'] * (len(base.y) // 2))), base.y.map({0: 'neg', 1: 'pos'}), 's', '', '',
                 cat_names=['c'])
    r = compare(ds, ['SMOTE'], ['kNN'], cv=CV3, n_jobs=1, progress=False)
    assert (r.status == 'ok').all()


X10, Y10 = np.arange(20.).reshape(10, 2), np.array([0] * 7 + [1] * 3)
FRAME = pd.DataFrame(X10, columns=['a', 'b'])

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: check_resampling_input(X10, Y10, k_neighbors=5), ValueError, r'^the minority class 1 has 3 samples, but .*needs at least 6'),
    (lambda: check_resampling_input(X10[:5], Y10), ValueError, r'X has 5 rows but y has 10 labels'),
    (lambda: check_resampling_input(X10[:0], Y10[:0]), ValueError, r'X and y have no rows'),
    (lambda: check_resampling_input(FRAME.iloc[:0], Y10[:0]), ValueError, r'X and y have no rows'),
    (lambda: check_resampling_input(X10, Y10[:, None]), ValueError, r'y must be one-dimensional, got shape \(10, 1\)'),
    (lambda: check_resampling_input(X10, np.r_[Y10[:-1], np.nan]), ValueError, r'missing labels'),
    (lambda: check_resampling_input(X10, np.zeros(10, int)), ValueError, r'single class \(0\); re-sampling'),
    (lambda: check_resampling_input(X10, np.zeros(10, np.uint8)), ValueError, r'single class \(0\); re-sampling'),
    (lambda: check_resampling_input(X10, np.full(10, 'cat').astype(np.str_)), ValueError, r"single class \('cat'\)"),
    (lambda: check_resampling_input(np.full((10, 2), np.inf), Y10), ValueError, r'infinite'),
    (lambda: check_resampling_input(np.where(X10 > 5, np.nan, X10), Y10), ValueError, r'missing values \(NaN\)'),
    (lambda: check_resampling_input(np.array([['a', 'b']] * 10), Y10), ValueError, r'non-numeric'),
    (lambda: check_resampling_input(X10 > 5, Y10), ValueError, r'^X is boolean; .*X\.astype\(int\)'),
    (lambda: check_resampling_input(FRAME.assign(flag=FRAME.a > 5), Y10), ValueError, r"^columns \['flag'\] are boolean; .*X\.astype\(\{'flag': 'int'\}\)"),
    (lambda: check_resampling_input(FRAME.assign(c=pd.Categorical(['u', 'v'] * 5)), Y10), ValueError, r"columns \['c'\] are categorical or text"),
    (lambda: check_resampling_input(FRAME.set_axis(['a', 'a'], axis=1), Y10), ValueError, r"^duplicated column names: \['a'\]"),
    (lambda: check_resampling_input(FRAME.assign(c='x').set_axis(['a', 'b', 'a'], axis=1), Y10), ValueError, r"^duplicated column names: \['a'\]"),
    (lambda: check_resampling_input(FRAME.assign(b=np.nan), Y10), ValueError, r"missing values in columns \['b'\]"),
    (lambda: compare(SMALL, ['SMOTEE'], ['kNN'], cv=CV3), KeyError, r"^Unknown sampler 'SMOTEE'\. Did you mean 'SMOTE'"),
    (lambda: compare(SMALL, ['SMOTE'], ['kNNN'], cv=CV3), ValueError, r"^Unknown model 'kNNN'\. Did you mean 'kNN'.*or pass an estimator"),
    (lambda: compare(SMALL, {'mine': 'random-over'}, ['kNN'], cv=CV3), KeyError, r"Unknown sampler 'random-over'\. Did you mean 'random over'"),
    (lambda: compare(Dataset(FRAME.set_axis(['a', 'a'], axis=1), pd.Series(Y10), 'dup', '', ''), ['SMOTE'], ['kNN'], cv=CV3), ValueError,
     r"^dup: duplicated column names: \['a'\]"),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()


def test_check_resampling_input_accepts_good_input():
    assert check_resampling_input(X10, Y10, k_neighbors=2)[1] is not None
    check_resampling_input(FRAME.assign(flag=(FRAME.a > 5).astype(int)), Y10)   # flags as 0/1 numbers are fine


@pytest.mark.parametrize('content', ['{"foo": 1}', '[1, 2]', '{"scores": {}, "fit_seconds": 1, "status": "ok", "error": ""}'])
def test_cache_file_of_the_wrong_shape_is_named_and_recomputed(tmp_path, content):
    "Valid JSON that is not a finished task (a KeyError: 'scores' before): warned about, recomputed and rewritten"
    args = dict(datasets=SMALL, samplers=['SMOTE'], models=['kNN'], cv=CV3, n_jobs=1, progress=False, cache_dir=tmp_path)
    clean = compare(**args)
    damaged = sorted(tmp_path.rglob('*.json'))[0]
    damaged.write_text(content)
    with pytest.warns(UserWarning, match=damaged.name):
        again = compare(**args)
    pd.testing.assert_frame_equal(clean.drop(columns='fit_seconds'), again.drop(columns='fit_seconds'))
    assert set(json.loads(damaged.read_text())['scores']) == {'roc_auc', 'g_mean', 'f1', 'balanced_accuracy'}


@settings(max_examples=20, deadline=None)
@given(n_min=st.integers(6, 30), n_maj=st.integers(31, 80), seed=st.integers(0, 10_000),
       name=st.sampled_from(['random over', 'SMOTE', 'Borderline-SMOTE', 'KMeans-SMOTE']))
def test_over_sampling_keeps_originals_and_balances(n_min, n_maj, seed, name):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n_maj, 2)), rng.normal(2, 1, (n_min, 2))])
    y = np.array(['maj'] * n_maj + ['min'] * n_min)
    try: Xr, yr = SAMPLERS[name](seed).fit_resample(X, y)
    except RuntimeError as e:  # KMeans-SMOTE may find no cluster dense enough in minority points: a clear refusal
        assert name == 'KMeans-SMOTE' and 'No clusters found' in str(e); return
    np.testing.assert_array_equal(Xr[:len(X)], X)
    np.testing.assert_array_equal(yr[:len(y)], y)
    counts = pd.Series(yr).value_counts()
    assert counts['maj'] == n_maj
    if name == 'KMeans-SMOTE': assert abs(counts['min'] - n_maj) <= 2  # rounding across clusters
    elif name == 'Borderline-SMOTE' and counts['min'] == n_min:   # imbalanced-learn's documented case: no minority point is
        assert len(yr) == len(y)                                   # 'in danger', so there is no border to draw from: unchanged
    else: assert counts['min'] == n_maj


@settings(max_examples=10, deadline=None)
@given(ratio=st.floats(0.3, 1.0), seed=st.integers(0, 1000))
def test_sampling_strategy_ratio_is_honoured(ratio, seed):
    from imblearn.over_sampling import SMOTE
    from imblearn.under_sampling import RandomUnderSampler
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(120, 3)), np.array([0] * 100 + [1] * 20)
    if ratio <= 0.2: return
    _, yr = SMOTE(sampling_strategy=ratio, random_state=seed).fit_resample(X, y)
    assert np.bincount(yr)[1] == int(np.round(ratio * 100)) or np.bincount(yr)[1] == int(ratio * 100)
    _, yr = RandomUnderSampler(sampling_strategy=ratio, random_state=seed).fit_resample(X, y)
    assert np.bincount(yr)[1] == 20 and abs(np.bincount(yr)[0] - 20 / ratio) <= 1


def test_rank_table_and_friedman():
    rows = [dict(dataset=f'd{i}', sampler=s, model='m', metric='roc_auc', value=v + i, status='ok')
            for i in range(6) for s, v in [('a', 0.9), ('b', 0.8), ('c', 0.7)]]
    r = pd.DataFrame(rows)
    t = rank_table(r, 'roc_auc')
    assert list(t.index) == ['a', 'b', 'c'] and t.loc['a', 'm'] == 1 and t.loc['c', 'mean'] == 3
    st_ = friedman_nemenyi(score_table(r, 'roc_auc', model='m'))
    # ranks 1, 2, 3 on all six datasets: χ² = 12/(n·k(k+1))·ΣR² − 3n(k+1) = 12/72·(6² + 12² + 18²) − 72 = 12 on 2 df, p = e^−6
    assert st_['statistic'] == pytest.approx(12) and st_['pvalue'] == pytest.approx(np.exp(-6)) and st_['n_datasets'] == 6
    assert rank_table(r, 'roc_auc', within='all').index[0] == 'a + m'
    with pytest.raises(ValueError, match='no rows for metric'): rank_table(r, 'f1')


def test_dask_backend_gives_the_same_numbers():
    distributed = pytest.importorskip('distributed')
    import joblib
    args = dict(datasets=SMALL, samplers=['none', 'SMOTE'], models=['kNN', 'decision tree'], cv=CV3, progress=False)
    local = compare(n_jobs=1, **args)
    with distributed.Client(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as client:
        assert len(client.scheduler_info()['workers']) == 2
        with joblib.parallel_backend('dask'):
            remote = compare(n_jobs=-1, **args)
    pd.testing.assert_frame_equal(local.drop(columns='fit_seconds'), remote.drop(columns='fit_seconds'))


def _figure_sizes():
    "Each plotting function of the sampling and credit chapters, with small inputs: name -> a function that draws a figure"
    from sklearn.datasets import make_classification
    from hierlearn.sampling import plot_resampling, plot_decision_regions, plot_cd, SAMPLERS, MODELS, ENSEMBLES
    from hierlearn.imbalance import plot_class_counts
    from hierlearn.experiments.credit import plot_precision_recall
    X, y = make_classification(n_samples=200, n_features=2, n_informative=2, n_redundant=0, weights=[0.85], random_state=0)
    scores = pd.DataFrame({'dataset': 'toy', 'model': np.repeat(['a', 'b'], 100), 'repeat': 0,
                           'y': np.tile(y[:100] == 1, 2), 'score': np.random.default_rng(0).random(200)})
    return {'plot_resampling': lambda: plot_resampling(X, y, {n: SAMPLERS[n](0) for n in ['none', 'SMOTE', 'random under', 'ENN', 'SMOTE+ENN']}),
            'plot_decision_regions': lambda: plot_decision_regions({n: f(0) for n, f in {**MODELS, **ENSEMBLES}.items()}, X[:100], y[:100], X[100:], y[100:]),
            'plot_cd': lambda: plot_cd(pd.DataFrame(np.random.default_rng(0).random((10, 14)))).figure,
            'plot_class_counts': lambda: plot_class_counts(y).figure,
            'plot_precision_recall': lambda: plot_precision_recall(scores).figure}


@pytest.mark.parametrize('name', list(_figure_sizes()))
def test_figures_fit_the_text_column(name):
    "A book page's text column is 6.5 inches wide; no text on a figure is smaller than 9 points"
    import matplotlib.pyplot as plt
    fig = _figure_sizes()[name]()
    try:
        assert fig.get_figwidth() <= 6.5, f'{name}: {fig.get_figwidth()} inches wide'
        fig.canvas.draw()
        small = {t.get_text() for t in fig.findobj(plt.Text) if t.get_text() and t.get_visible() and t.get_fontsize() < 9}
        assert not small, f'{name}: text under 9 pt: {sorted(small)[:5]}'
    finally: plt.close(fig)
