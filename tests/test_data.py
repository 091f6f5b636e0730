"Checks of `hierlearn.data` that span every dataset or need layouts the chapter does not show"
import numpy as np, pandas as pd, pytest
from PIL import Image
from hierlearn.data import (CIFAR10_CLASSES, CIFAR100_COARSE, UnknownNameError, list_datasets, load_cifar,
                            load_dataset, make_long_tail)


@pytest.mark.parametrize('name', list_datasets())
def test_every_dataset_is_consistent(name):
    ds = load_dataset(name)
    assert len(ds.X) == len(ds.y) > 0
    assert sorted(ds.cat_names + ds.cont_names) == sorted(ds.X.columns)
    assert all(isinstance(ds.X[c].dtype, pd.CategoricalDtype) for c in ds.cat_names)
    assert ds.source and ds.license
    assert len(ds.classes) >= 2 and ds.imbalance_ratio >= 1
    if name.startswith('keel/') or name in ('credit-default', 'german-credit'): assert ds.classes == [0, 1]


def test_at_least_60_keel_binary_sets():
    assert sum(n.startswith('keel/') for n in list_datasets()) >= 60


def test_unknown_name_is_both_key_and_value_error():
    with pytest.raises(KeyError): load_dataset('keel/yeast7')
    with pytest.raises(ValueError, match='list_datasets'): load_dataset('nope')


def _write_pngs(folder, n=2):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n): Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / f'{i}.png')


def test_load_cifar100_flat_layout_gets_superclasses_from_the_mapping(tmp_path):
    for fine in ('whale', 'tulip'): _write_pngs(tmp_path / 'test' / fine)
    df = load_cifar('cifar100', path=tmp_path, split='test', label='coarse')
    assert dict(zip(df.fine, df.label)) == {'whale': 'aquatic_mammals', 'tulip': 'flowers'}
    assert df.is_valid.all() and df.attrs['path'] == tmp_path


def test_load_cifar10(tmp_path):
    for cls in CIFAR10_CLASSES[:3]: _write_pngs(tmp_path / 'train' / cls, n=1)
    df = load_cifar('cifar10', path=tmp_path)
    assert df.label.tolist() == CIFAR10_CLASSES[:3] and 'coarse' not in df
    assert (tmp_path / df.fname[0]).exists()


def test_cifar100_mapping_is_20_by_5():
    assert pd.Series(CIFAR100_COARSE).value_counts().eq(5).all() and len(set(CIFAR100_COARSE.values())) == 20


def test_make_long_tail_returns_positions_for_any_labels():
    y = pd.Series(['a'] * 50 + ['b'] * 40 + ['c'] * 60, index=np.arange(150) + 1000)
    idx = make_long_tail(y, imbalance_ratio=4, random_state=1)
    assert np.all(np.diff(idx) > 0) and idx.max() < len(y)
    assert y.iloc[idx].value_counts().to_dict() == {'a': 40, 'b': 20, 'c': 10}
    with pytest.raises(UnknownNameError, match="'step'"): make_long_tail(y, profile='steps')


@pytest.mark.parametrize('name', list_datasets())
def test_every_registered_hierarchy_has_the_labels_as_leaves(name):
    ds = load_dataset(name)
    if ds.hierarchy is not None: assert set(ds.hierarchy.leaves) == set(ds.classes), name


def test_the_shipped_taxonomies_cover_the_named_multiclass_sets():
    assert {n for n in list_datasets() if load_dataset(n).hierarchy is not None} >= {'ecoli', 'yeast', 'glass', 'vehicle'}


def test_data_reaches_the_hierarchy_layer_only_when_a_hierarchy_is_read():
    import subprocess, sys
    code = ("import sys; from hierlearn.data import load_dataset; ds = load_dataset('yeast'); "
            "print('hierlearn.hierarchy' in sys.modules); print(sorted(ds.hierarchy.leaves) == sorted(ds.classes))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['False', 'True']


def test_an_explicit_hierarchy_survives_copy_and_wins_over_the_registry():
    ds = load_dataset('ecoli')
    ds.hierarchy = 'mine'
    assert ds.copy().hierarchy == 'mine' and load_dataset('ecoli').hierarchy != 'mine'
