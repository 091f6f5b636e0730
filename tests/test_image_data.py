"The image-data layer of `hierlearn.data`: finding CIFAR and Tiny ImageNet, unpacking archives, listing and decoding images"
import json, os, shutil, signal, socket, subprocess, sys, tarfile, textwrap, time, zipfile
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from hierlearn.data import (CIFAR10_CLASSES, CIFAR_ENV, IMAGE_DATASETS, TINYIMAGENET_ENV, image_path, load_cifar, load_images,
                            load_tiny_imagenet, read_images, remove_stale_unpacks, unpack_archive, write_tiny_imagenet_fixture)

REAL_TINYIMAGENET = Path(os.environ.get(TINYIMAGENET_ENV) or Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'tiny-imagenet-200.tgz')
SLOW = 'slow' in os.environ.get('HIERLEARN_TEST_FLAGS', '').split()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    for env in (CIFAR_ENV, TINYIMAGENET_ENV): monkeypatch.delenv(env, raising=False)
    return tmp_path / 'xdg' / 'hierlearn'


def _cifar10(root, classes=('bird', 'cat', 'deer'), n=2):
    "An unpacked CIFAR-10 folder with `n` PNGs per class and split"
    for split in ('train', 'test'):
        for cls in classes:
            (root / split / cls).mkdir(parents=True)
            for i in range(n): Image.fromarray(np.full((32, 32, 3), i, np.uint8)).save(root / split / cls / f'{i:05d}.png')
    return root


def _pack(folder, archive):
    "Pack `folder` as the release packs tiny-imagenet-200/: a .zip, or a .tgz as this project's machines hold it"
    if archive.suffix == '.zip':
        with zipfile.ZipFile(archive, 'w') as z:
            for f in sorted(folder.rglob('*')): z.write(f, f.relative_to(folder.parent).as_posix())
    else:
        with tarfile.open(archive, 'w:gz') as tar: tar.add(folder, arcname=folder.name)
    return archive


# --- hostile input: each row breaks a dataset one way; the answer is an error naming the problem, or a counted skip -------------

def _delete(path): shutil.rmtree(path) if path.is_dir() else path.unlink()
def _write(path, data): path.parent.mkdir(parents=True, exist_ok=True); path.write_bytes(data)
def _truncate(path): path.write_bytes(path.read_bytes()[:300])
def _resize(path, size): Image.open(path).convert('RGB').resize(size).save(path)
def _append(path, text): path.write_text(path.read_text() + text)

CIFAR_CASES = {  # id: (how the folder is broken, split, exception or 'warns', what the message says)
    'class folder gone from train': (lambda r: _delete(r / 'train' / 'cat'), 'train', FileNotFoundError, r"train/ lacks \['cat'\]"),
    'class folder gone from train, all': (lambda r: _delete(r / 'train' / 'cat'), 'all', FileNotFoundError, r"train/ lacks \['cat'\]"),
    'class folder gone from test': (lambda r: _delete(r / 'test' / 'bird'), 'train', FileNotFoundError, r"test/ lacks \['bird'\]"),
    'class folder without images': (lambda r: [_delete(f) for f in (r / 'train' / 'cat').iterdir()], 'train', FileNotFoundError,
                                    r"class folders \['cat'\] hold no images"),
    'a file named .png that is none': (lambda r: _write(r / 'train' / 'cat' / 'broken.png', b'<html>404</html>'), 'train', 'warns',
                                       'skipped 1 file.*the first train/cat/broken.png'),
    "macOS's ._ files": (lambda r: [_write(r / 'train' / c / '._00000.png', b'\x00\x05\x16\x07Mac OS X') for c in ('bird', 'cat')], 'all',
                         'warns', 'skipped 2 file.*the first train/bird/._00000.png'),
    'a folder that is no class': (lambda r: _write(r / 'train' / 'cats' / '0.png', (r / 'train' / 'cat' / '00000.png').read_bytes()),
                                  'train', ValueError, r"Folders \['cats'\] are not cifar10 classes"),
}


@pytest.mark.parametrize('breakage,split,error,message', CIFAR_CASES.values(), ids=CIFAR_CASES.keys())
def test_a_broken_cifar_folder_is_refused_by_name_or_its_strays_counted(tmp_path, breakage, split, error, message):
    root = _cifar10(tmp_path / 'cifar10')
    breakage(root)
    if error == 'warns':
        with pytest.warns(UserWarning, match=message): df = load_cifar('cifar10', path=root, split=split)
        assert sorted(df.fine.unique()) == ['bird', 'cat', 'deer'] and df.fname.map(lambda f: (root / f).read_bytes()[:2] == b'\x89P').all()
    else:
        with pytest.raises(error, match=message): load_cifar('cifar10', path=root, split=split)


TINY_CASES = {  # id: (how the folder is broken, split, exception or 'warns', what the message says, which call meets it)
    'a wnid without its training folder': (lambda r: _delete(r / 'train' / 'n04067472'), 'train', FileNotFoundError,
                                           r"no images/ folder for 1 class\(es\) of wnids.txt: \['n04067472'\]", 'list'),
    'a training folder wnids.txt lacks': (lambda r: shutil.copytree(r / 'train' / 'n04067472', r / 'train' / 'n01443537'), 'train',
                                          ValueError, r"folders that wnids.txt does not list: \['n01443537'\]", 'list'),
    'a wnid without words': (lambda r: (r / 'words.txt').write_text('n02124075\tEgyptian cat\n'), 'train', ValueError,
                             'no words for 2 wnid.*n04067472', 'list'),
    'a validation label outside wnids.txt': (lambda r: _append(r / 'val' / 'val_annotations.txt', 'val_1.JPEG\tn99999999\t0\t0\t9\t9\n'),
                                             'val', ValueError, "line 7: val_1.JPEG is labelled 'n99999999'", 'list'),
    'a validation image missing': (lambda r: _delete(r / 'val' / 'images' / 'val_3.JPEG'), 'all', FileNotFoundError,
                                   'line 4: .*val_3.JPEG does not exist', 'list'),
    'no val_annotations.txt': (lambda r: _delete(r / 'val' / 'val_annotations.txt'), 'val', FileNotFoundError,
                               'val_annotations.txt does not exist', 'list'),
    'a corrupt JPEG': (lambda r: _write(r / 'train' / 'n04067472' / 'images' / 'n04067472_1.JPEG', b'\x00' * 500), 'train', 'warns',
                       'skipped 1 file.*the first train/n04067472/images/n04067472_1.JPEG', 'list'),
    'a truncated JPEG': (lambda r: _truncate(r / 'train' / 'n04067472' / 'images' / 'n04067472_2.JPEG'), 'train', ValueError,
                         'n04067472_2.JPEG: cannot be decoded', 'decode'),
    'an image of the wrong size': (lambda r: _resize(r / 'val' / 'images' / 'val_2.JPEG', (48, 64)), 'val', ValueError,
                                   r'expected 64×64 images.*1 of 6 .*val_2.JPEG: 64×48, not 64×64', 'decode'),
}


@pytest.mark.parametrize('breakage,split,error,message,when', TINY_CASES.values(), ids=TINY_CASES.keys())
def test_a_broken_tiny_imagenet_is_refused_by_name_or_its_strays_counted(tmp_path, cache, breakage, split, error, message, when):
    root = write_tiny_imagenet_fixture(tmp_path / 'tiny-imagenet-200', n_classes=3, n_train=4, n_val=2)
    breakage(root)
    if error == 'warns':
        with pytest.warns(UserWarning, match=message): df = load_tiny_imagenet(root, split=split)
        assert len(df) == 11 and len(load_images(df)) == 11   # the skipped file is no row, and every row decodes
    elif when == 'list':
        with pytest.raises(error, match=message): load_tiny_imagenet(root, split=split)
    else:
        df = load_tiny_imagenet(root, split=split, size=32)
        with pytest.raises(error, match=message): load_images(df)
        assert not list(tmp_path.glob('*.npy'))   # nothing cached


# --- finding Tiny ImageNet --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('suffix', ['.zip', '.tgz'])
def test_the_release_zip_and_our_tgz_list_the_same(tmp_path, cache, suffix):
    folder = write_tiny_imagenet_fixture(tmp_path / 'src' / 'tiny-imagenet-200', n_classes=3, n_train=3, n_val=2)
    df = load_tiny_imagenet(_pack(folder, tmp_path / f'tiny-imagenet-200{suffix}'), split='all')
    assert df.attrs['path'].parent.parent == cache and df.attrs['path'].name == 'tiny-imagenet-200'
    expected = load_tiny_imagenet(folder, split='all')
    pd.testing.assert_frame_equal(df, expected)
    assert df.groupby('is_valid').size().to_dict() == {False: 9, True: 6}
    assert set(zip(df.label, df.words)) == {('n02124075', 'Egyptian cat'), ('n04067472', 'reel'), ('n04540053', 'volleyball')}
    assert np.array_equal(load_images(df), load_images(expected))


def test_the_environment_variable_and_data_find_tiny_imagenet(tmp_path, cache, monkeypatch):
    folder = write_tiny_imagenet_fixture(tmp_path / 'data' / 'tiny-imagenet-200', n_classes=2, n_train=1, n_val=1)
    for where in (folder, folder.parent, _pack(folder, tmp_path / 'tiny-imagenet-200.zip')):   # its folder, one holding it, the archive
        monkeypatch.setenv(TINYIMAGENET_ENV, str(where))
        assert IMAGE_DATASETS['tinyimagenet'].holds(image_path('tinyimagenet')) and len(load_tiny_imagenet()) == 2
        assert image_path('tinyimagenet', data=where) == image_path('tinyimagenet')
    monkeypatch.setenv(TINYIMAGENET_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'\$HIERLEARN_TINYIMAGENET is .*tiny-imagenet-200 has no wnids.txt, words.txt, train/ and val/'):
        load_tiny_imagenet()
    with pytest.raises(FileNotFoundError, match='a file that is not a .tgz, .tar.gz, .tar or .zip archive'):
        image_path('tinyimagenet', data=folder / 'wnids.txt')


def test_a_cifar_folder_is_not_taken_for_the_other_cifar(tmp_path, cache):
    "Both CIFARs need train/ and test/: the folder itself counts only when it is named after the dataset asked for"
    root = _cifar10(tmp_path / 'cifar10')
    assert image_path('cifar10', data=root) == root and image_path('cifar10', data=tmp_path) == root
    with pytest.raises(FileNotFoundError, match='cifar10/cifar100 has no train/ and test/ folders'): image_path('cifar100', data=root)


def test_load_cifar_on_a_file_says_it_is_a_file(tmp_path):
    note = tmp_path / 'cifar10.txt'; note.write_text('not a folder')
    with pytest.raises(FileNotFoundError, match=r'cifar10.txt, a file: pass the unpacked cifar10 folder \(holding train/ and test/\)'):
        load_cifar('cifar10', path=note)


# --- decoding, downsampling and the .npy cache -----------------------------------------------------------------------------------

def test_size_32_is_the_box_downsample_and_grey_becomes_rgb(tmp_path, cache):
    root = write_tiny_imagenet_fixture(tmp_path / 'tiny-imagenet-200', n_classes=2, n_train=3, n_val=1, n_grey=2)
    full, small = load_images(load_tiny_imagenet(root)), load_images(load_tiny_imagenet(root, size=32))
    assert full.shape == (6, 64, 64, 3) and small.shape == (6, 32, 32, 3)
    assert np.abs(small - full.reshape(6, 32, 2, 32, 2, 3).mean((2, 4))).max() <= 0.5   # the exact mean of each 2×2 block, rounded
    grey = load_tiny_imagenet(root).fname.str.contains(r'_[01]\.JPEG').to_numpy()
    assert (full[grey, ..., 0] == full[grey, ..., 1]).all() and not (full[~grey, ..., 0] == full[~grey, ..., 1]).all()
    assert load_images(load_tiny_imagenet(root, size=16)).shape == (6, 16, 16, 3)
    with pytest.raises(ValueError, match='from 1 to 64'): load_tiny_imagenet(root, size=0)


def test_the_cache_is_keyed_by_size_and_files_and_survives_a_bad_file(tmp_path, cache, monkeypatch):
    root = write_tiny_imagenet_fixture(tmp_path / 'tiny-imagenet-200', n_classes=2, n_train=2, n_val=1)
    df = load_tiny_imagenet(root, split='all', size=32)
    first = load_images(df)
    [npy] = tmp_path.glob('tiny-imagenet-200-32px-*.npy')
    assert np.array_equal(np.load(npy), first) and not list(tmp_path.glob('.*'))   # written atomically: no temporary file left
    import hierlearn.data as data
    monkeypatch.setattr(data, 'read_images', lambda *a, **k: pytest.fail('decoded again instead of reading the cache'))
    assert np.array_equal(load_images(df), first)
    monkeypatch.undo()
    assert np.array_equal(load_images(df.iloc[[3, 0]]), first[[3, 0]]) and len(list(tmp_path.glob('*.npy'))) == 2
    npy.write_bytes(b'not an array')
    assert np.array_equal(load_images(df), first) and np.array_equal(np.load(npy), first)   # rewritten
    assert load_images(df, cache=False).shape == first.shape


def test_load_cifar_frames_decode_through_load_images(tmp_path):
    df = load_cifar('cifar10', path=_cifar10(tmp_path / 'cifar10'), split='all')
    assert load_images(df, cache=False).shape == (12, 32, 32, 3)
    with pytest.raises(ValueError, match=r'expected 28×28 images that decode; 12 of 12 .* 32×32, not 28×28'):
        read_images(df.attrs['path'], df.fname, size=(28, 28))


# --- unpacking: killed unpacks and permissions ------------------------------------------------------------------------------------

_STUCK_UNPACK = textwrap.dedent("""
    import sys, tarfile, time
    from hierlearn.data import unpack_archive
    def stuck(self, path, *a, **k):
        self.extract(self.getmembers()[2], path, filter='data')
        print('unpacking', flush=True)
        time.sleep(600)
    tarfile.TarFile.extractall = stuck
    unpack_archive(sys.argv[1], cache=sys.argv[2])
""")


def _tgz(tmp_path, name):
    return _pack(_cifar10(tmp_path / name / 'cifar10', n=1), tmp_path / f'{name}.tgz')


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGKILL], ids=['SIGTERM', 'SIGKILL'])
def test_a_killed_unpack_is_cleaned_up_by_the_next(tmp_path, sig):
    cache = tmp_path / 'cache'
    proc = subprocess.Popen([sys.executable, '-c', _STUCK_UNPACK, str(_tgz(tmp_path, 'a')), str(cache)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, 'PYTHONPATH': str(Path(__file__).resolve().parents[1])})
    try:
        assert proc.stdout.readline().strip() == 'unpacking'
        [tmp] = cache.glob('.a-*')
        assert remove_stale_unpacks(cache) == [] and tmp.is_dir()   # its process is alive: left alone
    finally:
        proc.send_signal(sig)
        proc.wait(timeout=60)   # reaped: a zombie would still answer to its pid
    assert tmp.is_dir() and json.loads((tmp / 'owner.json').read_text())['pid'] == proc.pid   # no `finally` ran
    done = unpack_archive(_tgz(tmp_path, 'b'), cache=cache)
    assert not tmp.exists() and [p.name for p in cache.iterdir()] == [done.name]


def test_temporary_folders_that_cannot_be_proved_dead_are_left_alone(tmp_path):
    ended = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    owners = {'.x-other-host': {'host': 'not-' + socket.gethostname(), 'pid': int(ended.stdout)},
              '.x-alive': {'host': socket.gethostname(), 'pid': os.getpid()},
              '.x-unknown': None,
              '.x-dead': {'host': socket.gethostname(), 'pid': int(ended.stdout)}}
    for name, owner in owners.items():
        (tmp_path / name).mkdir()
        if owner: (tmp_path / name / 'owner.json').write_text(json.dumps(owner))
    assert remove_stale_unpacks(tmp_path) == [tmp_path / '.x-dead']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['.x-alive', '.x-other-host', '.x-unknown']


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o077], ids=['umask 022', 'umask 002', 'umask 077'])
def test_the_unpacked_folder_gets_the_permissions_of_the_umask(tmp_path, umask):
    archive = _tgz(tmp_path, 'a')
    old = os.umask(umask)
    try: folder = unpack_archive(archive, cache=tmp_path / 'cache')
    finally: os.umask(old)
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~umask)


# --- the real archive, when this machine has it ------------------------------------------------------------------------------------

real = pytest.mark.skipif(not REAL_TINYIMAGENET.exists(), reason=f'{REAL_TINYIMAGENET} is not on this machine')


@real
def test_the_real_tiny_imagenet(monkeypatch):
    "200 classes, 500 training and 50 validation images each, 64×64 (unpacked into the user's cache once)"
    monkeypatch.setenv(TINYIMAGENET_ENV, str(REAL_TINYIMAGENET))
    df = load_tiny_imagenet(split='all', size=32)
    assert df.label.nunique() == 200 and df.groupby('is_valid').size().to_dict() == {False: 100_000, True: 10_000}
    assert (df.groupby(['is_valid', 'label']).size().unstack(0) == [500, 50]).all().all()
    assert df.words.notna().all() and dict(zip(df.label, df.words))['n02124075'] == 'Egyptian cat'
    sample = df.groupby(['is_valid', 'label']).head(1).iloc[::20]
    assert load_images(sample, cache=False).shape == (20, 32, 32, 3)


@real
@pytest.mark.skipif(not SLOW, reason="decodes 110,000 images: set HIERLEARN_TEST_FLAGS='slow'")
def test_the_real_tiny_imagenet_greyscale_images_are_converted(monkeypatch):
    monkeypatch.setenv(TINYIMAGENET_ENV, str(REAL_TINYIMAGENET))
    df = load_tiny_imagenet(split='all')
    root = df.attrs['path']
    modes = pd.Series([Image.open(root / f).mode for f in df.fname])
    assert modes.value_counts().to_dict() == {'RGB': 110_000 - 1_989, 'L': 1_989}
    images = load_images(df[modes.eq('L').to_numpy()], cache=False)
    assert images.shape == (1_989, 64, 64, 3) and (images[..., 0] == images[..., 2]).all()
