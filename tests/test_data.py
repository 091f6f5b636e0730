"Checks of `hierlearn.data` that span every dataset or need layouts the chapter does not show"
import numpy as np, pandas as pd, pytest
from PIL import Image
from hierlearn.core import UnknownNameError
from hierlearn.data import CIFAR10_CLASSES, CIFAR100_COARSE, list_datasets, load_cifar, load_dataset, make_long_tail


@pytest.mark.parametrize('name', list_datasets())
def test_every_dataset_is_consistent(name):
    "Rows, columns, labels and counts agree; where a label hierarchy is registered, the labels are its leaves"
    ds = load_dataset(name)
    assert ds.name == name and ds.source and ds.license
    assert len(ds.X) == len(ds.y) > 0 and ds.X.index.equals(ds.y.index)
    assert sorted(ds.cat_names + ds.cont_names) == sorted(ds.X.columns) and not ds.X.columns.duplicated().any()
    assert all(isinstance(ds.X[c].dtype, pd.CategoricalDtype) for c in ds.cat_names)
    assert ds.y.notna().all() and not ds.X.isna().any().any()
    counts = ds.y.value_counts()
    assert ds.class_counts.to_dict() == counts.to_dict() and ds.class_counts.sum() == len(ds.y)
    assert len(ds.classes) >= 2 and ds.imbalance_ratio == pytest.approx(counts.max() / counts.min())
    if name.startswith('keel/') or name in ('credit-default', 'german-credit'): assert ds.classes == [0, 1]
    if ds.images is not None: assert ds.images.ndim == 3 and len(ds.images) == len(ds.y)   # N×H×W
    if ds.hierarchy is not None: assert set(ds.hierarchy.leaves) == set(ds.classes)


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


LONG_TAIL_CASES = {  # id: (arguments, exception, what the message says); no message shows a numpy type's repr
    'an infinite ratio': (dict(y=[0] * 5 + [1] * 5, imbalance_ratio=float('inf')), ValueError, 'a finite number >= 1.*got inf$'),
    'a ratio that is not a number': (dict(y=[0] * 5 + [1] * 5, imbalance_ratio=float('nan')), ValueError, 'got nan$'),
    'a numpy ratio below 1': (dict(y=[0] * 5 + [1] * 5, imbalance_ratio=np.float64(0.5)), ValueError, 'got 0.5$'),
    'a ratio given as text': (dict(y=[0] * 5 + [1] * 5, imbalance_ratio='10'), ValueError, "got '10'$"),
    'a ratio given as True': (dict(y=[0] * 5 + [1] * 5, imbalance_ratio=True), ValueError, 'got True$'),
    'a 2-D y': (dict(y=np.zeros((4, 2))), ValueError, r'one label per sample \(1-D\), got an array of shape \(4, 2\)'),
    'one class only': (dict(y=np.zeros(5, dtype=np.int64)), ValueError, 'at least 2 classes, y has 1: 0$'),
    'a class too small for the ratio': (dict(y=np.array([0] * 5 + [1] * 3), imbalance_ratio=10), ValueError,
                                        r"smallest class \(1\) has 3, so imbalance_ratio can be at most 3$"),
    'missing labels': (dict(y=[0, 1, None, 1, 0]), ValueError, '1 missing labels .* at position 2'),
    'an unknown profile': (dict(y=[0] * 5 + [1] * 5, imbalance_ratio=2, profile='steps'), UnknownNameError, "Did you mean 'step'"),
}


@pytest.mark.parametrize('kwargs,error,message', LONG_TAIL_CASES.values(), ids=LONG_TAIL_CASES.keys())
def test_make_long_tail_refuses_bad_input_with_a_plain_message(kwargs, error, message):
    with pytest.raises(error, match=message) as info: make_long_tail(**kwargs)
    assert 'np.' not in str(info.value)


def test_the_shipped_taxonomies_cover_the_named_multiclass_sets():
    "test_every_dataset_is_consistent checks their labels are the leaves; here, that there are such sets to check"
    assert {n for n in list_datasets() if load_dataset(n).hierarchy is not None} >= {'ecoli', 'yeast', 'glass', 'vehicle'}


def test_the_hierarchy_layer_sits_below_data_and_loads_nothing_heavy():
    "hierlearn.data imports the taxonomy registry from hierlearn.hierarchy, which needs only numpy, pandas and hierlearn.core"
    import subprocess, sys
    code = ("import sys, hierlearn.hierarchy; "
            "print(sorted(m for m in sys.modules if m.startswith(('hierlearn', 'torch', 'fastai', 'sklearn', 'imblearn', 'matplotlib'))))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['hierlearn', 'hierlearn.core', 'hierlearn.hierarchy']"
    ds = load_dataset('yeast')
    assert sorted(ds.hierarchy.leaves) == sorted(ds.classes) and load_dataset('credit-default').hierarchy is None


def _hierlearn_imports():
    "module -> the hierlearn modules its source imports (anywhere in the file, `import_module('...')` too), read with ast"
    import ast
    from pathlib import Path
    import hierlearn
    root = Path(hierlearn.__file__).parent
    mods = {'.'.join(('hierlearn',) + p.relative_to(root).with_suffix('').parts).removesuffix('.__init__'): p
            for p in root.rglob('*.py')}
    def known(name):
        while name not in mods and '.' in name: name = name.rsplit('.', 1)[0]
        return name if name in mods and name != 'hierlearn' else None
    graph = {}
    for mod, path in mods.items():
        pkg = mod if path.name == '__init__.py' else mod.rsplit('.', 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import): names = [a.name for a in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', getattr(node.func, 'id', None)) == 'import_module'
                  and node.args and isinstance(node.args[0], ast.Constant)): names = [node.args[0].value]   # a lazy import
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level: base = '.'.join(pkg.split('.')[:len(pkg.split('.')) - node.level + 1] + ([base] if base else []))
                names = [f'{base}.{a.name}' for a in node.names] + [base]
            else: continue
            targets |= {t for t in map(known, names) if t and t != mod}
        graph[mod] = targets
    return graph


def test_no_import_cycle_among_hierlearn_modules():
    from graphlib import TopologicalSorter
    graph = _hierlearn_imports()
    order = list(TopologicalSorter(graph).static_order())       # raises CycleError naming the cycle
    assert graph['hierlearn.hierarchy'] == {'hierlearn.core'}
    assert 'hierlearn.hierarchy' in graph['hierlearn.data'] and 'hierlearn.hier_sampling' not in graph['hierlearn.hierarchy']
    assert order.index('hierlearn.hierarchy') < order.index('hierlearn.data')


def test_a_registered_hierarchy_is_looked_up_when_read_and_kept_by_copy():
    from hierlearn.data import Dataset
    from hierlearn.hierarchy import TAXONOMIES, register_hierarchy
    tree = object()
    register_hierarchy('toy', lambda: tree)
    try:
        ds = Dataset(pd.DataFrame({'a': range(4)}), pd.Series([0, 0, 1, 1]), 'toy', '', '')
        assert ds.hierarchy is tree and ds.copy().hierarchy is tree          # looked up by name when first read
        assert Dataset(ds.X, ds.y, 'toy', '', '', hierarchy='mine').hierarchy == 'mine'   # an explicit one wins
    finally: del TAXONOMIES['toy']
    assert Dataset(ds.X, ds.y, 'toy', '', '').hierarchy is None


def test_an_explicit_hierarchy_survives_copy_and_wins_over_the_registry():
    ds = load_dataset('ecoli')
    ds.hierarchy = 'mine'
    assert ds.copy().hierarchy == 'mine' and load_dataset('ecoli').hierarchy != 'mine'


# --- finding CIFAR: folders, JPEGs and archives ---------------------------------------------------------------
import os, tarfile, threading, time
from pathlib import Path
from hierlearn.data import CIFAR_ENV, cifar_path, read_images, unpack_archive, cache_folder

REAL_ARCHIVE = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'cifar10.tgz'


def _tiny_archive(path, n_train=2, n_test=1, classes=CIFAR10_CLASSES[:3], top='cifar10'):
    "A .tgz laid out as the real one: top/{train,test}/<class>/NNNN.jpg"
    src = path.parent / (path.name + '-src')
    for split, n in (('train', n_train), ('test', n_test)):
        for k, cls in enumerate(classes):
            folder = src / top / split / cls
            folder.mkdir(parents=True)
            for i in range(n): Image.fromarray(np.full((32, 32, 3), 20 * k + i, np.uint8)).save(folder / f'{i:04d}.jpg', quality=75)
    with tarfile.open(path, 'w:gz') as tar: tar.add(src / top, arcname=top)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    monkeypatch.delenv(CIFAR_ENV, raising=False)
    return tmp_path / 'xdg' / 'hierlearn'


def test_cache_folder_follows_xdg(cache):
    assert cache_folder() == cache


def test_an_archive_is_unpacked_once_and_reused(tmp_path, cache):
    archive = _tiny_archive(tmp_path / 'cifar10.tgz')
    root = cifar_path('cifar10', data=archive)
    assert root.parent.parent == cache and (root / 'train' / 'bird' / '0001.jpg').is_file()
    marker = root / 'marker'; marker.write_text('x')   # a second call must not unpack again (it would drop this file)
    assert cifar_path('cifar10', data=archive) == root and marker.exists()
    assert [p.name for p in cache.iterdir()] == [root.parent.name]


def test_the_environment_variable_may_name_the_archive(tmp_path, cache, monkeypatch):
    archive = _tiny_archive(tmp_path / 'cifar10.tar.gz')
    monkeypatch.setenv(CIFAR_ENV, str(archive))
    df = load_cifar('cifar10', split='all')
    assert len(df) == 9 and df.fname.str.endswith('.jpg').all() and df.is_valid.sum() == 3
    assert df.attrs['path'] == cifar_path('cifar10')
    with pytest.raises(FileNotFoundError, match=r'\$HIERLEARN_CIFAR is .*holds: cifar10.*no train/ and test/'): cifar_path('cifar100')


def test_load_cifar_accepts_the_archive_as_path(tmp_path, cache):
    archive = _tiny_archive(tmp_path / 'c.tgz')
    df = load_cifar('cifar10', path=archive, split='test')
    assert df.label.tolist() == CIFAR10_CLASSES[:3]
    X = read_images(df.attrs['path'], df.fname)
    assert X.shape == (3, 32, 32, 3) and X.dtype == np.uint8


def test_a_changed_archive_is_unpacked_again(tmp_path, cache):
    archive = _tiny_archive(tmp_path / 'cifar10.tgz')
    first = cifar_path('cifar10', data=archive)
    _tiny_archive(tmp_path / 'other.tgz', classes=CIFAR10_CLASSES[:2]).replace(archive)
    second = cifar_path('cifar10', data=archive)
    assert second != first and sorted(p.name for p in (second / 'train').iterdir()) == CIFAR10_CLASSES[:2]


def test_a_half_extracted_cache_never_counts(tmp_path, cache, monkeypatch):
    "An unpack interrupted half-way leaves no folder that a later call would take for the data"
    archive = _tiny_archive(tmp_path / 'cifar10.tgz')
    real_extractall = tarfile.TarFile.extractall
    def interrupted(self, path, *a, **k):
        self.extract(self.getmembers()[3], path, filter='data')   # some files are out...
        raise KeyboardInterrupt                                    # ...when the process is stopped
    monkeypatch.setattr(tarfile.TarFile, 'extractall', interrupted)
    with pytest.raises(KeyboardInterrupt): cifar_path('cifar10', data=archive)
    assert list(cache.iterdir()) == []
    monkeypatch.setattr(tarfile.TarFile, 'extractall', real_extractall)
    root = cifar_path('cifar10', data=archive)
    assert len(load_cifar('cifar10', path=root, split='all')) == 9


def test_concurrent_unpacks_agree(tmp_path, cache):
    archive = _tiny_archive(tmp_path / 'cifar10.tgz', n_train=20)
    out, errors = [], []
    def go():
        try: out.append(unpack_archive(archive))
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors and len(set(out)) == 1
    assert [p.name for p in cache.iterdir()] == [out[0].name]   # the losers' temporary folders are gone


def test_bad_archives_and_paths_are_named(tmp_path, cache):
    with pytest.raises(ValueError, match='not a .tgz, .tar.gz, .tar or .zip'): unpack_archive(tmp_path.joinpath('x.rar').write_bytes(b'Rar!') and tmp_path / 'x.rar')
    with pytest.raises(ValueError, match='cannot unpack .*x.zip: BadZipFile'): unpack_archive(tmp_path.joinpath('x.zip').write_bytes(b'PK') and tmp_path / 'x.zip')
    broken = tmp_path / 'broken.tgz'; broken.write_bytes(b'\x1f\x8b' + b'0' * 50)
    with pytest.raises(ValueError, match='cannot unpack .*broken.tgz'): cifar_path('cifar10', data=broken)
    with pytest.raises(FileNotFoundError, match='does not exist'): cifar_path('cifar10', data=tmp_path / 'missing.tgz')
    wrong = _tiny_archive(tmp_path / 'wrong.tgz', top='images')
    with pytest.raises(FileNotFoundError, match=r'holds: images'): cifar_path('cifar10', data=wrong)


def test_load_cifar_lists_png_and_jpg_alike(tmp_path):
    _write_pngs(tmp_path / 'train' / 'cat', n=2)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / 'train' / 'cat' / 'x.jpg')
    (tmp_path / 'train' / 'cat' / 'notes.txt').write_text('not an image')
    assert sorted(load_cifar('cifar10', path=tmp_path).fname) == ['train/cat/0.png', 'train/cat/1.png', 'train/cat/x.jpg']


@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=f'{REAL_ARCHIVE} is not on this machine')
def test_the_real_jpeg_archive(monkeypatch):
    "CIFAR-10 (JPEG): 5,000 training and 1,000 test images per class, 32×32 RGB (unpacked into the user's cache once)"
    monkeypatch.setenv(CIFAR_ENV, str(REAL_ARCHIVE))
    df = load_cifar('cifar10', split='all')
    assert df.groupby(['is_valid', 'fine']).size().unstack(0).to_dict() == {False: dict.fromkeys(CIFAR10_CLASSES, 5000),
                                                                            True: dict.fromkeys(CIFAR10_CLASSES, 1000)}
    sample = df.groupby(['is_valid', 'fine']).head(2)
    X = read_images(df.attrs['path'], sample.fname)
    assert X.shape == (40, 32, 32, 3) and X.std() > 10
