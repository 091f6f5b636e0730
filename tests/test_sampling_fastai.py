"""Tests of `hierlearn.sampling_fastai` that do not belong in the chapter: many samplers, odd inputs, the learner round trip."""
import warnings
import numpy as np, pandas as pd
import pytest, torch
from imblearn.over_sampling import RandomOverSampler, SMOTE, ADASYN, BorderlineSMOTE, SMOTENC
from imblearn.under_sampling import RandomUnderSampler, TomekLinks, EditedNearestNeighbours, NearMiss
from imblearn.combine import SMOTEENN, SMOTETomek
from fastai.tabular.all import TabularPandas, Categorify, Normalize, CategoryBlock, tabular_learner, load_learner, set_seed
from hierlearn.sampling_fastai import (ResampledTabDL, resample_tabular, resampled_tabular_dls, balanced_weights,
                                       balanced_image_dls, BalancedWeightedDL, is_random_sampler)

warnings.filterwarnings('ignore', message='The given NumPy array is not writable')


def toy(n=600, seed=0, string_cat=True):
    "Three classes 70/25/5 %, a pandas categorical column, string labels"
    rng = np.random.default_rng(seed)
    y = rng.choice(['common', 'middle', 'rare'], size=n, p=[.7, .25, .05])
    shift = pd.Series(y).map({'common': 0., 'middle': 1., 'rare': 2.}).to_numpy()
    df = pd.DataFrame({'colour': pd.Categorical(rng.choice(['red', 'green', 'blue'], size=n)) if string_cat else rng.integers(0, 3, n),
                       'a': rng.normal(shift, 1), 'b': rng.normal(-shift, 1), 'label': y})
    idx = rng.permutation(n)
    return df, (list(idx[:n * 3 // 4]), list(idx[n * 3 // 4:]))


def tab(df, splits):
    return TabularPandas(df, procs=[Categorify, Normalize], cat_names=['colour'], cont_names=['a', 'b'], y_names='label',
                         y_block=CategoryBlock(), splits=splits)


ALL = [RandomOverSampler(), SMOTE(k_neighbors=3), ADASYN(n_neighbors=3), BorderlineSMOTE(k_neighbors=3),
       RandomUnderSampler(), NearMiss(), TomekLinks(), EditedNearestNeighbours(), SMOTEENN(), SMOTETomek()]
OVER = [RandomOverSampler(), SMOTE(k_neighbors=3), ADASYN(n_neighbors=3), BorderlineSMOTE(k_neighbors=3)]


def valid_tensors(dls):
    return [torch.cat([t.cpu().float() for t in b], 1) for b in dls.valid]


@pytest.mark.parametrize('sampler', ALL, ids=lambda s: type(s).__name__)
def test_validation_untouched_and_rows_traceable(sampler):
    df, splits = toy()
    dls = resampled_tabular_dls(df, ['colour'], ['a', 'b'], 'label', splits, sampler, batch_size=32, seed=0)
    plain = tab(df, splits).dataloaders(bs=32)
    before = valid_tensors(dls)
    assert all(torch.equal(x, p) for x, p in zip(before, valid_tensors(plain)))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        for _ in range(2):
            for _ in dls.train: pass
    assert all(torch.equal(x, p) for x, p in zip(valid_tensors(dls), before))
    # every returned row that is marked real equals its source row
    trn, src = dls.train.draw(), dls.train.source_idxs
    cols = ['colour', 'a', 'b', 'label']
    real = src >= 0
    np.testing.assert_array_equal(trn.items[cols].to_numpy()[real], dls.train.source.items[cols].to_numpy()[src[real]])
    assert dls.train.every_epoch == is_random_sampler(sampler)


@pytest.mark.parametrize('sampler', OVER, ids=lambda s: type(s).__name__)
def test_over_samplers_keep_every_original_row(sampler):
    df, splits = toy()
    to = tab(df, splits)
    for seed in (0, 1):
        res, src = resample_tabular(to.train, sampler, seed=seed)
        assert set(range(len(to.train))) <= set(src)
        assert len(res) >= len(to.train)
        assert set(res.items['colour'].unique()) <= set(range(1, 4))        # valid codes only


def test_string_labels_and_dict_strategy_in_batches():
    df, splits = toy()
    to = tab(df, splits)
    n = np.bincount(to.train.items['label'], minlength=3)
    dl = ResampledTabDL(to.train, bs=50, sampler=RandomOverSampler(sampling_strategy={'rare': 100, 'middle': 200}), seed=0,
                        shuffle=True, drop_last=False)
    ys = torch.cat([yb.flatten() for *_, yb in dl])
    assert torch.bincount(ys).tolist() == [n[0], 200, 100]            # vocab order: common, middle, rare
    assert list(dl.resample_log[['common', 'middle', 'rare']].iloc[0]) == [n[0], 200, 100]


def test_smote_uses_smotenc_and_every_epoch_is_fresh_but_seeded():
    df, splits = toy()
    to = tab(df, splits)
    a = ResampledTabDL(to.train, bs=64, sampler=SMOTE(k_neighbors=3), seed=5, shuffle=True)
    b = ResampledTabDL(to.train, bs=64, sampler=SMOTE(k_neighbors=3), seed=5, shuffle=True)
    epochs_a, epochs_b = [], []
    for _ in range(3):
        epochs_a.append(a.draw().items.to_numpy().copy()); epochs_b.append(b.draw().items.to_numpy().copy())
        for _ in a: pass
        for _ in b: pass
    for x, y in zip(epochs_a, epochs_b): np.testing.assert_array_equal(x, y)
    n = len(to.train)
    assert not np.array_equal(epochs_a[0][n:], epochs_a[1][n:])
    np.testing.assert_array_equal(epochs_a[0][:n], epochs_a[2][:n])
    assert a.resample_log['seed'].nunique() == 3


def test_deterministic_sampler_runs_once_unless_asked():
    df, splits = toy()
    to = tab(df, splits)
    for every, runs in [(None, 1), (True, 3)]:
        dl = ResampledTabDL(to.train, bs=64, sampler=TomekLinks(), shuffle=True, every_epoch=every)
        for _ in range(3):
            for _ in dl: pass
        assert len(dl.resample_log) == runs


def test_learner_trains_predicts_and_exports(tmp_path):
    df, splits = toy()
    dls = resampled_tabular_dls(df, ['colour'], ['a', 'b'], 'label', splits, SMOTE(k_neighbors=3), batch_size=64, seed=0)
    set_seed(0)
    learn = tabular_learner(dls, layers=[16])
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-2)
    assert dls.train.epoch == 2 and len(dls.train.resample_log) == 2
    with learn.no_bar(): probs, _ = learn.get_preds(dl=dls.test_dl(df.iloc[:10]))
    assert probs.shape == (10, 3)
    learn.export(tmp_path / 'learn.pkl')
    again = load_learner(tmp_path / 'learn.pkl')
    with again.no_bar(): p2, _ = again.get_preds(dl=again.dls.test_dl(df.iloc[:10]))
    torch.testing.assert_close(p2, probs)


def test_bad_input():
    df, splits = toy()
    with pytest.raises(TypeError, match='not an imbalanced-learn sampler'):
        resampled_tabular_dls(df, ['colour'], ['a', 'b'], 'label', splits, object())
    with pytest.raises(ValueError, match='validation split is empty'):
        resampled_tabular_dls(df, ['colour'], ['a', 'b'], 'label', (list(range(len(df))), []), SMOTE())
    one = df[df.label == 'common']
    with pytest.raises(ValueError, match='single class'):
        resampled_tabular_dls(one, ['colour'], ['a', 'b'], 'label', (list(range(300)), list(range(300, 400))), SMOTE())
    nan = df.copy(); nan.loc[splits[0][0], 'a'] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        resampled_tabular_dls(nan, ['colour'], ['a', 'b'], 'label', splits, SMOTE())
    with pytest.raises(ValueError, match='not in the labels'):
        resampled_tabular_dls(df, ['colour'], ['a', 'b'], 'label', splits, RandomOverSampler(sampling_strategy={'nope': 5}))


def test_balanced_weights_power_and_labels():
    y = np.array(['x'] * 80 + ['y'] * 20)
    for p in (0, .5, 1, 2):
        w = balanced_weights(y, p)
        assert np.isclose(w.sum(), 1) and (w > 0).all()
        share = w[y == 'y'].sum()
        assert np.isclose(share, 20 * 20.**-p / (20 * 20.**-p + 80 * 80.**-p))
    with pytest.raises(ValueError, match='non-empty'): balanced_weights([])


def test_balanced_image_dls_colour_and_statistics():
    rng = np.random.default_rng(0)
    n = 400
    y = np.r_[np.zeros(300, int), np.ones(80, int), np.full(20, 2)]
    imgs = rng.integers(0, 256, size=(n, 6, 6, 3)).astype(np.uint8)
    trn, val = np.arange(0, n, 2), np.arange(1, n, 2)
    dls = balanced_image_dls(imgs, y, (trn, val), batch_size=50, seed=3)
    xb, yb = dls.one_batch()
    assert xb.shape == (50, 3, 6, 6)
    counts = np.zeros(3, int)
    for _ in range(5):
        counts += np.bincount(torch.cat([b.cpu() for _, b in dls.train]).numpy(), minlength=3)
    # 5 epochs x 200 draws, p = 1/3 each: sd ~ 15; a fixed seed makes the check exact
    assert (abs(counts - counts.sum() / 3) < 80).all(), counts
    assert isinstance(dls.train, BalancedWeightedDL) and dls.train.epoch == 5
    assert np.array_equal(torch.cat([b.cpu() for _, b in dls.valid]).numpy(), y[val])


@pytest.mark.parametrize('cls', [SMOTEENN, SMOTETomek])
def test_combined_samplers_use_smotenc_inside(cls):
    df, splits = toy()
    to = tab(df, splits)
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)         # no 'rounded to the nearest code' warning
        a, _ = resample_tabular(to.train, cls(random_state=0), seed=1)
        b, _ = resample_tabular(to.train, cls(random_state=0), seed=1)
        c, _ = resample_tabular(to.train, cls(random_state=0), seed=2)
    pd.testing.assert_frame_equal(a.items, b.items)
    assert not a.items.equals(c.items)                       # the seed reaches the inner SMOTENC
    assert set(a.items['colour'].unique()) <= set(range(1, 4))


def test_resampled_dataloaders_batch_sizes():
    "`TabularPandas.resampled_dataloaders` names its batch sizes as the book does: `batch_size` and `valid_batch_size`"
    df, splits = toy()
    dls = tab(df, splits).resampled_dataloaders(RandomOverSampler(), batch_size=16, valid_batch_size=40, seed=0, device='cpu')
    assert (dls.train.bs, dls.valid.bs) == (16, 40)
    assert tab(df, splits).resampled_dataloaders(RandomOverSampler(), batch_size=16, device='cpu').valid.bs == 16   # default: batch_size
    with pytest.raises(TypeError): tab(df, splits).resampled_dataloaders(RandomOverSampler(), bs=16)
