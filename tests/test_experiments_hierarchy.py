"Checks of `hierlearn.experiments.hierarchy` that the chapter does not show: splits, samplers, HiClass, caching and the run's files"
import sys
import numpy as np, pandas as pd, pytest
import hierlearn.experiments.hierarchy as hx
from hierlearn.experiments.hierarchy import (SETTINGS, QUICK_SETTINGS, REAL_DATASETS, DIGITS_TAXONOMIES, Setting, grid_task,
                                        fit_predict, compare_to_ce, hierarchy_grid, run_hierarchy, cifar100_folder)


def test_settings_have_unique_names_and_distinct_fits():
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)
    assert len({s.key for s in SETTINGS}) == len(SETTINGS)       # no two settings train the same model
    assert set(QUICK_SETTINGS) <= set(SETTINGS)


@pytest.mark.parametrize('name', REAL_DATASETS + list(DIGITS_TAXONOMIES))
def test_every_grid_dataset_has_its_labels_as_leaves_and_disjoint_splits(name):
    task = grid_task(name, n_repeats=2)
    task.hierarchy.check_labels(task.y)
    assert len(task.X) == len(task.y)
    for split in task.splits:
        assert len(np.intersect1d(split.train, split.test)) == 0 and set(np.unique(task.y[split.train])) == set(np.unique(task.y))


def test_digits_training_half_is_long_tailed_with_the_asked_ratio():
    task = grid_task('digits-LT (parity)', n_repeats=3, imbalance_ratio=20)
    for split in task.splits:
        counts = pd.Series(task.y[split.train]).value_counts()
        assert 15 <= counts.max() / counts.min() <= 30 and counts.is_monotonic_decreasing
    assert [s.repeat for s in task.splits] == [0, 1, 2]
    assert not np.array_equal(task.splits[0].train, task.splits[1].train)          # each repeat is a fresh random split


def test_smote_is_skipped_when_nothing_can_be_interpolated():
    y = np.array(['a'] * 5 + ['b'])
    assert hx._sampler(Setting('s', sampler='SMOTE'), y, None, 0) is None
    with pytest.raises(ValueError, match='unknown sampler'): hx._sampler(Setting('s', sampler='ADASYN'), y, None, 0)


def test_hiclass_prediction_comes_first_in_its_probabilities():
    X, y, h, splits = grid_task('glass', n_splits=3, n_repeats=1)
    train, test = splits[0].train, splits[0].test
    for kind in ('hiclass-node', 'hiclass-parent'):
        fit = fit_predict(Setting('h', kind=kind), X.iloc[train], y[train], X.iloc[test], h)
        np.testing.assert_allclose(fit.probs.sum(1), 1, atol=1e-9)
        assert fit.probs.max(1).min() >= 0.5 and set(fit.classes) <= set(h.leaves)


def test_missing_hiclass_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'hiclass', None)
    X, y, h, splits = grid_task('ecoli', n_splits=3, n_repeats=1)
    train, test = splits[0].train, splits[0].test
    with pytest.raises(ImportError, match='pip install hiclass'):
        fit_predict(Setting('h', kind='hiclass-node'), X.iloc[train], y[train], X.iloc[test], h)


def test_unknown_kind_and_duplicate_names_are_refused():
    X, y, h, splits = grid_task('ecoli', n_splits=3, n_repeats=1)
    train, test = splits[0].train, splits[0].test
    with pytest.raises(ValueError, match='unknown kind'): fit_predict(Setting('x', kind='svm'), X.iloc[train], y[train], X.iloc[test], h)
    with pytest.raises(ValueError, match='unique'): hierarchy_grid(['ecoli'], [Setting('a', kind='logreg'), Setting('a', kind='logreg')])


def test_the_grid_reads_finished_folds_from_its_cache(tmp_path, monkeypatch):
    settings = [Setting('flat LR', kind='logreg', crm=True)]
    first = hierarchy_grid(['glass'], settings, n_splits=3, n_repeats=1, cache_dir=tmp_path, n_jobs=1)
    assert len(list(tmp_path.rglob('*.json'))) == 3
    monkeypatch.setattr(hx, 'fit_predict', lambda *a, **k: pytest.fail('refitted a cached fold'))
    pd.testing.assert_frame_equal(hierarchy_grid(['glass'], settings, n_splits=3, n_repeats=1, cache_dir=tmp_path, n_jobs=1), first)
    assert set(first.setting) == {'flat LR', 'flat LR + CRM'}


def test_wilcoxon_p_needs_five_differing_folds():
    rows = [dict(dataset='d', setting=s, family='flat', repeat=0, fold=f, metric=m, value=v + 0.01 * f * (s == 'B'), fit_seconds=0)
            for s in ('CE', 'B') for f in range(6) for m, v in [('top1_error', .2), ('mistake_severity', 1.5), ('rare_recall', .5), ('hd@1', .3)]]
    assert np.isnan(compare_to_ce(pd.DataFrame(rows)[lambda d: d.fold < 4]).severity_p.iloc[0])
    # six folds, severity differences 0, .01, ..., .05: the zero is dropped and all five others are positive, so the
    # exact two-sided signed-rank p is 2 / 2**5
    assert compare_to_ce(pd.DataFrame(rows)).severity_p.iloc[0] == pytest.approx(2 / 2**5)


def test_run_hierarchy_writes_every_table_and_the_plot(tmp_path, monkeypatch):
    fake = hierarchy_grid(['ecoli'], [Setting('CE', kind='logreg', crm=True), Setting('HiClass', kind='hiclass-parent', family='HiClass')],
                          n_splits=3, n_repeats=1, n_jobs=1)
    monkeypatch.setattr(hx, 'hierarchy_grid', lambda *a, **k: fake)
    monkeypatch.setattr(hx, 'cifar100_folder', lambda: None)
    res = run_hierarchy(tmp_path, quick=True)
    assert res is fake
    for f in ('hierarchy_results.csv.gz', 'hierarchy_summary.csv', 'hierarchy_vs_ce.csv', 'hierarchy_rare_recall.csv', 'hierarchy_tradeoff.png'):
        assert (tmp_path/f).stat().st_size > 0, f
    assert set(pd.read_csv(tmp_path/'hierarchy_vs_ce.csv').setting) == {'CE + CRM', 'HiClass'}


def test_cifar100_folder_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('HIERLEARN_CIFAR', str(tmp_path))
    assert cifar100_folder() is None   # the variable names a folder without cifar100/
    for split in ('train', 'test'): (tmp_path/'cifar100'/split).mkdir(parents=True)
    assert cifar100_folder() == tmp_path/'cifar100'



_HICLASS_RUN = """
import json, warnings
warnings.filterwarnings('ignore')
from hierlearn.experiments.hierarchy import grid_task, fit_predict, Setting
X, y, h, splits = grid_task('glass', n_splits=3, n_repeats=1)
train, test = splits[0].train, splits[0].test
out = {}
for kind in ('hiclass-parent', 'hiclass-node'):
    probs, classes = fit_predict(Setting('h', kind=kind), X.iloc[train], y[train], X.iloc[test], h)
    out[kind] = [classes, probs.tolist()]
print(json.dumps(out))
"""

def test_hiclass_probabilities_do_not_depend_on_the_hash_seed():
    "Glass has two parents below its root: HiClass's probabilities must not depend on the order Python's sets list them in"
    import json, os, subprocess
    runs = []
    for hash_seed in ('0', '1'):   # on CPython 3.11 these two list glass's parents in opposite orders
        env = {**os.environ, 'PYTHONHASHSEED': hash_seed, 'OMP_NUM_THREADS': '1'}
        r = subprocess.run([sys.executable, '-c', _HICLASS_RUN], capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    for kind in ('hiclass-parent', 'hiclass-node'): assert runs[0][kind] == runs[1][kind], kind   # exactly the same numbers


def test_a_damaged_cache_file_is_named_and_refitted(tmp_path):
    "Half a cache file (an interrupted write) is reported by its path and recomputed, not a JSONDecodeError for the whole grid"
    import re
    settings = [Setting('flat LR', kind='logreg', crm=True), Setting('HiClass', kind='hiclass-parent', family='HiClass')]
    first = hierarchy_grid(['glass'], settings, n_splits=3, n_repeats=1, cache_dir=tmp_path, n_jobs=1)
    damaged = sorted(tmp_path.rglob('*.json'))[2]
    damaged.write_text(damaged.read_text()[:100])
    with pytest.warns(UserWarning, match=re.escape(str(damaged))):
        again = hierarchy_grid(['glass'], settings, n_splits=3, n_repeats=1, cache_dir=tmp_path, n_jobs=1)
    pd.testing.assert_frame_equal(again.drop(columns='fit_seconds'), first.drop(columns='fit_seconds'))
    assert len(again) == len(first) and damaged.read_text().endswith(']')                     # rewritten whole
    assert sorted(p.name for p in tmp_path.rglob('*') if p.is_file() and p.name.startswith('.')) == []   # no temporary files left

