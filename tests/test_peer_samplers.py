"""The smote-variants adapter (hierlearn.peer_samplers) beyond its chapter: imbalanced-learn's and scikit-learn's estimator
checks on the five leaders, every original row kept (also where a sampler's filter drops some), the logging kept quiet,
TensorFlow never loaded, the library without smote-variants, and a table of bad input with the error each one gets."""
import logging, subprocess, sys, textwrap
import numpy as np, pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import (check_no_attributes_set_in_init, check_parameters_default_constructible,
                                            check_get_params_invariance, check_set_params)
from imblearn.utils.estimator_checks import parametrize_with_checks
from hierlearn.peer_samplers import SmoteVariantsSampler, KOVACS_LEADERS, kovacs_leaders
from tests.frames import new_rows

LEADERS = list(KOVACS_LEADERS.values())


def expected_failures(sampler:SmoteVariantsSampler) -> dict:
    "The imbalanced-learn checks a leader fails, and why"
    reasons = {'check_samplers_sampling_strategy_fit_resample': "the check asks to over-sample two of three classes; with more "
                   "than two classes smote-variants (MulticlassOversampling) brings every class up to the majority, so the adapter "
                   "refuses any other strategy with a ValueError",
               'check_samplers_pandas_sparse': "smote-variants works on dense arrays: the adapter refuses sparse input with a TypeError"}
    if sampler.sampler == 'SMOBD':
        reasons['check_samplers_fit_resample'] = ("on the check's three classes SMOBD's density factors are unsuitable and "
                                                  "smote-variants falls back to the original rows (the adapter warns)")
    return reasons


@parametrize_with_checks([SmoteVariantsSampler(s, random_state=0) for s in LEADERS], expected_failed_checks=expected_failures)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize('check', [check_no_attributes_set_in_init, check_parameters_default_constructible,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_api_checks(check):
    check('SmoteVariantsSampler', SmoteVariantsSampler())


def numeric_frame(n_major=60, n_minor=12, seed=0):
    "A numeric table (int32, float and float32 columns, of unit scale as after `compare`'s scaling) with a non-default index, and a binary target"
    rng = np.random.default_rng(seed)
    n = n_major + n_minor
    X = pd.DataFrame({'small_int': rng.integers(0, 4, n).astype(np.int32), 'x': rng.normal(size=n), 'ratio': rng.random(n).astype(np.float32)},
                     index=np.arange(100, 100 + n))
    y = pd.Series(np.r_[np.zeros(n_major, int), np.ones(n_minor, int)], index=X.index, name='default')
    return X, y


@pytest.mark.parametrize('sampler', LEADERS)
def test_dataframe_round_trip_keeps_every_original_row(sampler):
    X, y = numeric_frame()
    Xr, yr = SmoteVariantsSampler(sampler, random_state=0).fit_resample(X, y)
    new, y_new = new_rows(X, y, Xr, yr)   # columns, dtypes, target name, and every original row first, unchanged
    assert len(new) > 0 and (y_new == 1).all()


@pytest.mark.parametrize('sampler', LEADERS)
def test_three_classes_keep_every_original_row(sampler):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(m, 1, (n, 3)) for m, n in [(0, 60), (3, 20), (-3, 10)]])
    y = np.repeat(['major', 'middle', 'rare'], [60, 20, 10])
    Xr, yr = SmoteVariantsSampler(sampler, random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xr[:len(X)], X)
    np.testing.assert_array_equal(yr[:len(y)], y)
    assert set(yr[len(y):]) <= {'middle', 'rare'}


def test_originals_kept_where_the_filter_drops_them():
    "SMOTE-IPF's filter drops rows it misclassifies, originals included: the adapter still returns every original row"
    import smote_variants as sv
    X = np.random.default_rng(0).normal(size=(60, 2)).round(1)
    X, y = np.vstack([X, X[:12]]), np.r_[np.zeros(60, int), np.ones(12, int)]  # 12 minority rows that repeat majority rows
    Xs, ys = sv.SMOTE_IPF(random_state=0).sample(X, y)
    out = {(r.tobytes(), c) for r, c in zip(Xs, ys)}
    assert sum((r.tobytes(), c) in out for r, c in zip(X, y)) == 60             # smote-variants alone loses those 12 rows
    Xr, yr = SmoteVariantsSampler('SMOTE_IPF', random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xr[:len(X)], X)
    np.testing.assert_array_equal(yr[:len(y)], y)


def test_seeded_runs_repeat_and_unseeded_differ():
    X, y = numeric_frame()
    a, b = (SmoteVariantsSampler('ProWSyn', random_state=3).fit_resample(X, y)[0] for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    c, d = (SmoteVariantsSampler('ProWSyn').fit_resample(X, y)[0] for _ in range(2))
    assert not c.equals(d)


class Records(logging.Handler):
    def __init__(self): super().__init__(logging.DEBUG); self.records = []
    def emit(self, record): self.records.append(record)


@pytest.mark.parametrize('verbose', [False, True])
def test_logging_quiet_unless_asked(verbose):
    logger, handler = logging.getLogger('smote_variants'), Records()
    level = logger.level
    logger.addHandler(handler)
    try: SmoteVariantsSampler('Lee', random_state=0, verbose=verbose).fit_resample(*numeric_frame())
    finally: logger.removeHandler(handler)
    assert any(r.levelno == logging.INFO for r in handler.records) == verbose
    assert logger.level == level                                           # the reader's level is restored


def test_warns_when_the_sampler_falls_back_to_the_originals():
    "SMOBD's density step needs neighbours within max_eps=1: on unscaled data it adds nothing, and the adapter says so"
    X, y = numeric_frame()
    with pytest.warns(UserWarning, match='added none of the 48 rows'): SmoteVariantsSampler('SMOBD', random_state=0).fit_resample(X * 100, y)


def run_python(code:str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_tensorflow_is_never_loaded():
    "smote-variants 1.0.1 declares TensorFlow but its samplers (DEAGO apart) never import it; the install leaves it out"
    p = run_python("""
        import sys, numpy as np
        from hierlearn.peer_samplers import kovacs_leaders
        X = np.random.default_rng(0).normal(size=(60, 3)); y = np.r_[np.zeros(45), np.ones(15)]
        for s in kovacs_leaders(random_state=0).values(): s.fit_resample(X, y)
        assert 'smote_variants' in sys.modules and 'tensorflow' not in sys.modules, sorted(m for m in sys.modules if 'tensorflow' in m)
        """)
    assert p.returncode == 0, p.stderr


def test_library_works_without_smote_variants():
    "Without the package: the library and the experiments import, the leaders are left out with a note, a sampler names the install command"
    p = run_python("""
        import sys
        sys.modules['smote_variants'] = None          # as if it were not installed
        import numpy as np, pytest
        import hierlearn.peer_samplers as ps, hierlearn.experiments.samplers, hierlearn.experiments.generative
        assert ps.optional_leaders() == {}
        with pytest.raises(ImportError, match='pip install --no-deps smote-variants==1.0.1'): ps.optional_leaders(True)
        X = np.random.default_rng(0).normal(size=(60, 3)); y = np.r_[np.zeros(45), np.ones(15)]
        with pytest.raises(ImportError, match='minisom metric-learn seaborn'): ps.SmoteVariantsSampler().fit_resample(X, y)
        """)
    assert p.returncode == 0, p.stderr
    assert 'left out' in p.stdout


def _binary():
    X, y = numeric_frame()
    return X.to_numpy(float), y.to_numpy()


def _three():
    rng = np.random.default_rng(0)
    return rng.normal(size=(90, 3)), np.repeat([0, 1, 2], [60, 20, 10])


BAD_INPUT = [  # (what, sampler keywords, X and y, error, message part)
    ('categorical column', {}, lambda: (numeric_frame()[0].assign(city=pd.Categorical(['a', 'b'] * 36)), numeric_frame()[1]), ValueError, 'categorical or text'),
    ('text column', {}, lambda: (numeric_frame()[0].assign(job=['x', 'y', 'z'] * 24), numeric_frame()[1]), ValueError, 'categorical or text'),
    ('missing value', {}, lambda: (numeric_frame()[0].assign(amount=np.r_[np.nan, np.ones(71)]), numeric_frame()[1]), ValueError, 'missing values'),
    ('infinite value', {}, lambda: (np.r_[[[np.inf, 0, 0]], _binary()[0][1:]], _binary()[1]), ValueError, 'infinite'),
    ('one class', {}, lambda: (_binary()[0], np.zeros(72, int)), ValueError, 'single class'),
    ('lengths differ', {}, lambda: (_binary()[0][:70], _binary()[1]), ValueError, '70 rows but y has 72'),
    ('sparse X', {}, lambda: (sp.csr_matrix(_binary()[0]), _binary()[1]), TypeError, 'dense input'),
    ('unknown sampler', dict(sampler='polynom_fit_SMOTE'), _binary, ValueError, 'Did you mean'),
    ('proportion in params', dict(params={'proportion': 0.5}), _binary, ValueError, 'use sampling_strategy'),
    ('random_state in params', dict(params={'random_state': 1}), _binary, ValueError, 'use sampling_strategy and random_state'),
    ('majority over-sampled', dict(sampling_strategy={0: 80, 1: 60}), _binary, ValueError, 'minority class only'),
    ('part of three classes', dict(sampling_strategy={2: 60}), _three, ValueError, "sampling_strategy='auto'"),
]


@pytest.mark.parametrize('what, kwargs, data, error, match', BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input(what, kwargs, data, error, match):
    X, y = data()
    with pytest.raises(error, match=match): SmoteVariantsSampler(**kwargs).fit_resample(X, y)


def test_leaders_by_their_names_in_the_study():
    assert list(kovacs_leaders()) == ['polynom-fit-SMOTE', 'ProWSyn', 'SMOTE-IPF', 'Lee', 'SMOBD']
    assert {s.random_state for s in kovacs_leaders(7).values()} == {7}
