"Properties of `Hierarchy` on random and large trees, its JSON form, and the CIFAR-10 trees, beyond the chapter's examples"
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from hierlearn.hierarchy import Hierarchy


# --- Hierarchy at scale, and its JSON form ---------------------------------------------------------------------------
import json
from pathlib import Path
from hierlearn.hierarchy import CIFAR100_HIERARCHY, TAXONOMIES


def _reference_distances(h, nodes):
    "The distance matrix as a plain loop over `Hierarchy.distance` (what `distance_matrix` computed before it was vectorised)"
    return np.array([[h.distance(a, b) for b in nodes] for a in nodes], dtype=int).reshape(len(nodes), len(nodes))


@st.composite
def random_trees(draw):
    "A random tree of 1-40 nodes (node i hangs under a random earlier node), with int, str or mixed names"
    n = draw(st.integers(1, 40))
    ups = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    kind = draw(st.sampled_from(['int', 'str', 'mixed']))
    names = [i if kind == 'int' or (kind == 'mixed' and i % 2) else f'n{i}' for i in range(n)]
    return Hierarchy.from_parents({names[i]: names[ups[i - 1]] for i in range(1, n)} if n > 1 else {names[0]: None})


@settings(max_examples=150, deadline=None)
@given(random_trees(), st.data())
def test_distance_matrix_equals_the_reference_loop_on_random_trees(h, data):
    nodes = list(h)
    D = h.distance_matrix()
    np.testing.assert_array_equal(D.to_numpy(), _reference_distances(h, h.leaves))
    assert list(D.index) == list(D.columns) == h.leaves
    some = data.draw(st.lists(st.sampled_from(nodes), max_size=12))   # any nodes, any order, repeats
    Ds = h.distance_matrix(some)
    np.testing.assert_array_equal(Ds.to_numpy(), _reference_distances(h, some))
    assert list(Ds.index) == some


def test_distance_matrix_equals_the_reference_loop_on_the_shipped_taxonomies():
    for h in [CIFAR100_HIERARCHY] + [f() for f in TAXONOMIES.values()]:
        D = h.distance_matrix()
        np.testing.assert_array_equal(D.to_numpy(), _reference_distances(h, h.leaves))
        assert D.to_numpy().dtype == np.int16


def test_distance_matrix_uses_a_small_integer_dtype():
    h = Hierarchy.from_nested({'r': {'a': ['x', 'y'], 'b': None}})
    assert h.distance_matrix().to_numpy().dtype == np.int16          # a quarter of int64's memory
    tall = Hierarchy.from_parents({**{k: k - 1 for k in range(1, 33_000)}, 'x': 0, 'y': 32_998})
    D = tall.distance_matrix()
    assert D.to_numpy().dtype == np.int32 and D.loc['x', 32_999] == 32_999 and D.loc['x', 'y'] == 32_999


def test_depth_10000_builds_walks_and_round_trips(tmp_path):
    depth = 10_000
    sub = None
    for k in range(depth, 0, -1): sub = {k: sub}                      # {1: {2: {... {10000: None}}}}
    h = Hierarchy.from_nested({0: sub | {'side': None}})              # no recursion: any depth
    assert h == Hierarchy.from_parents({k: k - 1 for k in range(1, depth + 1)} | {'side': 0})
    assert h.height == depth and h.depth(depth) == depth and len(h.ancestors(depth)) == depth
    assert h.lca(depth, 'side') == 0 and h.distance(depth, 'side') == depth
    assert h.labels_at_level(3) == {depth: 3, 'side': 'side'}
    assert h.distance_matrix().to_numpy().tolist() == [[0, depth], [depth, 0]]
    assert Hierarchy.from_nested(h.to_nested()) == h
    assert Hierarchy.from_json(h.to_json(tmp_path / 'deep.json')) == h
    with pytest.raises(ValueError, match=r'cycle: 1 -> 0 -> -1 -> 10000 -> 9999 -> \.\.\. \(10002 nodes\) \.\.\. -> 5 -> 4 -> 3 -> 2 -> 1$'):
        Hierarchy.from_parents({k: k - 1 for k in range(1, depth + 1)} | {0: -1, -1: depth})


@settings(max_examples=60, deadline=None)
@given(random_trees())
def test_json_round_trip_keeps_names_and_child_order(h):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        back = Hierarchy.from_json(h.to_json(Path(d) / 'h.json'))
    assert back == h and list(back) == list(h)
    assert all(type(a) is type(b) for a, b in zip(back, h))         # int names stay int


def test_json_reads_the_older_forms_and_a_one_entry_parent_map(tmp_path):
    p = tmp_path / 'h.json'
    p.write_text(json.dumps({'cat': 'animal'}))                        # child -> parent, not a nested tree
    h = Hierarchy.from_json(p)
    assert h.root == 'animal' and h.children('animal') == ['cat']
    p.write_text(json.dumps({'r': {'a': None, 'b': ['c', 'd']}}))      # the nested form written before
    assert Hierarchy.from_json(p).to_nested() == {'r': {'a': None, 'b': {'c': None, 'd': None}}}
    p.write_text(json.dumps({'r': None}))
    assert len(Hierarchy.from_json(p)) == 1
    p.write_text(json.dumps([['r', None], ['a', 'r'], ['a', 'q']]))
    with pytest.raises(ValueError, match=r"node 'a' has two parents \('r' and 'q'\)"): Hierarchy.from_json(p)
    p.write_text(json.dumps([['r', None], ['a']]))
    with pytest.raises(ValueError, match=r"\[child, parent\] pairs"): Hierarchy.from_json(p)
    p.write_text('"r"')
    with pytest.raises(ValueError, match='got str'): Hierarchy.from_json(p)


def test_to_json_refuses_names_json_cannot_keep_and_converts_numpy_scalars(tmp_path):
    with pytest.raises(TypeError, match=r"node \('a', 1\) is a tuple"):
        Hierarchy.from_parents({('a', 1): 'r'}).to_json(tmp_path / 'h.json')
    h = Hierarchy.from_parents({np.int64(1): np.int64(0), np.int64(2): np.int64(0)})
    back = Hierarchy.from_json(h.to_json(tmp_path / 'h.json'))
    assert back == h and all(type(n) is int for n in back)


def test_to_json_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / 'h.json'
    old = Hierarchy.from_parents({'a': 'r'})
    old.to_json(p)
    before = p.read_text()
    real = Path.write_text
    def half_then_fail(self, text, *args, **kwargs):                   # the disk fills up halfway through
        real(self, text[:len(text) // 2], *args, **kwargs); raise OSError('disk full')
    monkeypatch.setattr(Path, 'write_text', half_then_fail)
    with pytest.raises(OSError, match='disk full'): Hierarchy.from_parents({'b': 'r', 'c': 'b'}).to_json(p)
    monkeypatch.undo()
    assert p.read_text() == before and [q.name for q in tmp_path.iterdir()] == ['h.json']


# --- CIFAR-10's WordNet tree and its control -----------------------------------------------------------------------
from hierlearn.data import CIFAR10_CLASSES
from hierlearn.hierarchy import cifar10_hierarchy, cifar10_control_hierarchy, registered_hierarchy


def _shape(h): return [(h.depth(n), len(h.children(n))) for n in h]


def _sibling_pairs(h): return {frozenset((a, b)) for a in h.leaves for b in h.leaves if a != b and h.distance(a, b) == 1}


def test_cifar10_tree_follows_wordnet():
    h = cifar10_hierarchy()
    assert sorted(h.leaves) == sorted(CIFAR10_CLASSES) and h.height == 4
    assert h.lca('cat', 'dog') == 'carnivore' and h.lca('deer', 'horse') == 'ungulate' and h.lca('cat', 'deer') == 'mammal'
    assert h.lca('airplane', 'ship') == 'craft' and h.lca('automobile', 'truck') == 'motor vehicle'
    assert h.lca('frog', 'horse') == 'animal' and h.lca('bird', 'airplane') == h.root
    assert {c: h.depth(c) for c in ('bird', 'frog', 'ship', 'horse')} == {'bird': 2, 'frog': 2, 'ship': 3, 'horse': 4}


@pytest.mark.parametrize('seed', range(6))
def test_the_control_has_the_same_shape_and_other_groups(seed):
    expert, control = cifar10_hierarchy(), cifar10_control_hierarchy(seed)
    assert _shape(control) == _shape(expert) and sorted(control.leaves) == sorted(CIFAR10_CLASSES)
    assert sorted(expert.distance_matrix().to_numpy().ravel()) == sorted(control.distance_matrix().to_numpy().ravel())
    assert control == cifar10_control_hierarchy(seed)                  # seeded: the same tree every time
    assert not set(control) & (set(expert.internal_nodes) - {expert.root})   # neutral names: no node claims a meaning


def test_the_default_control_shares_no_sibling_pair_and_both_are_registered():
    assert not _sibling_pairs(cifar10_hierarchy()) & _sibling_pairs(cifar10_control_hierarchy())
    assert registered_hierarchy('cifar10') == cifar10_hierarchy()
    assert registered_hierarchy('cifar10-control') == cifar10_control_hierarchy(0)
    assert {'cifar10', 'cifar10-control'} <= set(TAXONOMIES)


# --- Hostile JSON files: every error names the file and the problem -------------------------------------------------
@pytest.mark.parametrize('content, message', [
    pytest.param(b'[["r", null], ["a", "r"', r'h\.json is not valid JSON: .* line 1 column 24', id='truncated'),
    pytest.param(b'', r'h\.json is not valid JSON: Expecting value', id='empty file'),
    pytest.param('{"caf\xe9": "r"}'.encode('latin-1'), r'h\.json is not UTF-8 text: byte 0xe9 at position 5', id='latin-1 bytes'),
    pytest.param(json.dumps({0: None, 1: 0}).encode(), r"h\.json.*JSON object keys are always strings: the parent 0 \(a number\) "
                 r"and the node '0' \(a string\) are two different nodes", id='int keys turned into strings'),
    pytest.param(json.dumps({'0': 'r', '1': 0, 'x': 1.5, '1.5': 'r'}).encode(),
                 r"the parents 0, 1\.5 \(numbers\) and the nodes '0', '1\.5' \(strings\) are different nodes",
                 id='int and float keys turned into strings'),
])
def test_from_json_names_the_file_and_the_problem(tmp_path, content, message):
    p = tmp_path / 'h.json'
    p.write_bytes(content)
    with pytest.raises(ValueError, match=message): Hierarchy.from_json(p)


def test_from_json_accepts_a_utf8_byte_order_mark(tmp_path):
    p = tmp_path / 'h.json'
    p.write_bytes('\ufeff'.encode() + json.dumps([['r', None], ['café', 'r']]).encode())
    assert Hierarchy.from_json(p).leaves == ['café']


# --- Trees from WordNet: a small WordNet written here, and the real one where it is installed ------------------------
import os, tarfile
from hierlearn.hierarchy import (WordNet, load_wordnet, wordnet_names, wordnet_rows, tiny_imagenet_hierarchy, CIFAR10_WNIDS,
                                 cifar10_wordnet_hierarchy, TINY_IMAGENET_TREE)

_HEADER = '  1 This software and database is being provided to you, the LICENSEE, by  \n  2 WordNet {} Copyright 2006 by Princeton University.  \n'
_SYNSETS = {                       # offset: (words, hypernym offsets), in a made-up WordNet with WordNet's top
    '00001740': (['entity'], []), '00001930': (['physical_entity'], ['00001740']), '00002137': (['abstraction'], ['00001740']),
    '00000010': (['animal', 'animate_being'], ['00001930']), '00000011': (['chordate'], ['00000010']),
    '00000020': (['dog', 'domestic_dog'], ['00000030', '00000011']),   # its first hypernym has the shorter path
    '00000030': (['pet'], ['00001930']), '00000040': (['cat'], ['00000011']), '00000050': (['puppy'], ['00000020']),
    '00000060': (['crane'], ['00000011']), '00000070': (['crane'], ['00000080']), '00000080': (['machine'], ['00001930']),
    '00000090': (['espresso'], ['00000080', '00000091']),               # physical (short) or abstract (long)
    '00000091': (['idea'], ['00000092']), '00000092': (['thought'], ['00002137']),
    '00000100': (['horse'], ['00000011', '00000010']),                   # a tie, broken by WordNet's order
}


def _data_noun(synsets=_SYNSETS, version='3.0'):
    lines = [f"{off} 05 n {len(words):02x} {' '.join(w + ' 0' for w in words)} {len(ups):03d} "
             + ''.join(f'@ {u} n 0000 ' for u in ups) + '| a gloss  ' for off, (words, ups) in synsets.items()]
    return _HEADER.format(version) + '\n'.join(lines) + '\n'


@pytest.fixture
def small_wordnet(tmp_path):
    (tmp_path / 'data.noun').write_text(_data_noun())
    return tmp_path


def test_a_small_wordnet_is_read_with_its_words_and_hypernyms(small_wordnet, monkeypatch):
    wn = WordNet(small_wordnet)
    assert wn.words['n00000020'] == ['dog', 'domestic dog'] and wn.hypernyms['n00000020'] == ['n00000030', 'n00000011']
    monkeypatch.setenv('WNSEARCHDIR', str(small_wordnet))                # WordNet's own variable points at it
    assert load_wordnet().path == small_wordnet / 'data.noun' and load_wordnet() is load_wordnet()


def test_from_wordnet_takes_the_longest_physical_path_and_prunes_single_children(small_wordnet):
    h = Hierarchy.from_wordnet(['n00000020', 'n00000040', 'n00000090', 'n00000100'], small_wordnet, names=True)
    assert h.to_nested() == {'physical entity': {'chordate': {'dog': None, 'cat': None, 'horse': None}, 'espresso': None}}
    full = Hierarchy.from_wordnet(['n00000020', 'n00000090', 'n00000100'], small_wordnet, names=True, prune=False)
    assert full.ancestors('dog') == ['chordate', 'animal', 'physical entity', 'entity']       # not under pet
    assert full.parent('espresso') == 'machine' and full.parent('horse') == 'chordate'     # physical beats longer; a tie: the first


def test_from_wordnet_makes_a_class_above_another_class_a_group(small_wordnet):
    h = Hierarchy.from_wordnet(['n00000050', 'n00000020', 'n00000040'], small_wordnet)
    assert h.to_nested() == {'n00000011': {'n00000020 (all)': {'n00000020': None, 'n00000050': None}, 'n00000040': None}}
    assert Hierarchy.from_wordnet(['n00000050', 'n00000020'], small_wordnet, names=True).to_nested() == {'dog (all)': {'dog': None, 'puppy': None}}
    nested = Hierarchy.from_wordnet(['n00000050', 'n00000020', 'n00000011', 'n00000040'], small_wordnet, names=True)   # chordate > dog > puppy
    assert nested.to_nested() == {'chordate (all)': {'chordate': None, 'dog (all)': {'dog': None, 'puppy': None}, 'cat': None}}


def test_readable_names_are_unique_and_keep_the_wnid_where_words_repeat(small_wordnet):
    assert wordnet_names(['n00000060', 'n00000070', 'n00000040'], small_wordnet) == {
        'n00000060': 'crane (n00000060)', 'n00000070': 'crane (n00000070)', 'n00000040': 'cat'}
    rows = wordnet_rows(['n00000060', 'n00000070'], small_wordnet)
    assert rows == [['n00001930', None, 'physical entity'],                 # chordate and machine: one child each, dropped
                    ['n00000060', 'n00001930', 'crane (n00000060)'], ['n00000070', 'n00001930', 'crane (n00000070)']]


@pytest.mark.parametrize('wnids, data_noun, error, message', [
    pytest.param(['dog'], None, ValueError, r"malformed wnids, e.g. \['dog'\]: a wnid is 'n' and an 8-digit", id='a word'),
    pytest.param(['n0000002'], None, ValueError, 'malformed', id='seven digits'),
    pytest.param(['N00000020'], None, ValueError, 'malformed', id='upper case'),
    pytest.param([20], None, ValueError, r'malformed wnids, e.g. \[20\]', id='an int'),
    pytest.param('n00000020', None, TypeError, 'a list of wnids, got the str', id='one string'),
    pytest.param(['v00000020'], None, ValueError, r"not nouns, e.g. \['v00000020'\]", id='a verb'),
    pytest.param(['n99999999'], None, ValueError, r"not noun synsets of WordNet 3.0 .*\['n99999999'\]", id='not in WordNet'),
    pytest.param([], None, ValueError, 'no wnids given', id='empty'),
    pytest.param(['n00000020', 'n00000040', 'n00000020'], None, ValueError, r"given twice: \['n00000020'\]", id='twice'),
    pytest.param(['n00000020'], False, FileNotFoundError, r'apt-get install wordnet-base.*`wordnet=`', id='no WordNet'),
    pytest.param(['n00000020'], _data_noun(version='3.1'), ValueError, r'is WordNet 3\.1, not 3\.0', id='WordNet 3.1'),
    pytest.param(['n00000020'], _data_noun().replace('  2 WordNet 3.0 Copyright', '  2 Copyright'), ValueError,
                 'WordNet of no version the header names, not 3.0', id='no version'),
    pytest.param(['n00000020'], _data_noun().replace('00000040 05 n 01', '00000040 05 n zz'), ValueError,
                 r"line 10, is not a WordNet synset line .*'00000040 05 n zz", id='a broken line'),
])
def test_from_wordnet_refuses_bad_input_with_a_clear_message(tmp_path, wnids, data_noun, error, message):
    if data_noun is not False: (tmp_path / 'data.noun').write_text(_data_noun() if data_noun is None else data_noun)
    with pytest.raises(error, match=message): Hierarchy.from_wordnet(wnids, tmp_path)


_REAL_WORDNET = Path('/usr/share/wordnet/data.noun')
_TINY_IMAGENET = Path(os.environ.get('HIERLEARN_TINYIMAGENET') or Path(__file__).parents[1].parent / 'shared/data/tiny-imagenet-200.tgz')
needs_wordnet = pytest.mark.skipif(not _REAL_WORDNET.exists(), reason='WordNet 3.0 is not installed (apt-get install wordnet-base)')


@needs_wordnet
def test_the_shipped_tiny_imagenet_tree_is_what_wordnet_gives():
    from importlib import resources
    shipped = json.loads(resources.files('hierlearn').joinpath(TINY_IMAGENET_TREE).read_text())
    tiny = tiny_imagenet_hierarchy()
    assert wordnet_rows(sorted(tiny.leaves)) == shipped
    assert (len(tiny), len(tiny.leaves), tiny.height, tiny_imagenet_hierarchy(names=True).root) == (298, 200, 11, 'physical entity')


@pytest.mark.skipif(not _TINY_IMAGENET.is_file() or not _TINY_IMAGENET.name.endswith('.tgz'), reason='the Tiny ImageNet archive (.tgz) is not on this machine')
def test_the_shipped_tree_has_exactly_the_classes_of_tiny_imagenet():
    with tarfile.open(_TINY_IMAGENET) as tar:
        member = next(m for m in tar if m.name.endswith('/wnids.txt'))
        wnids = tar.extractfile(member).read().decode().split()
    assert sorted(wnids) == sorted(tiny_imagenet_hierarchy().leaves)


@needs_wordnet
def test_the_shipped_cifar10_tree_is_what_wordnet_gives_and_has_the_hand_written_distances():
    wn = load_wordnet()
    assert all(c in [w.lower() for w in wn.words[wnid]] for c, wnid in CIFAR10_WNIDS.items() if c != 'cat')
    assert wn.words[CIFAR10_WNIDS['cat']][:2] == ['domestic cat', 'house cat']
    derived = Hierarchy.from_wordnet(CIFAR10_WNIDS.values()).rename({w: c for c, w in CIFAR10_WNIDS.items()})
    assert derived.leaves == cifar10_wordnet_hierarchy().leaves and derived.rename(
        {n: wordnet_names([n])[n] for n in derived.internal_nodes}) == cifar10_wordnet_hierarchy()
    classes = sorted(CIFAR10_WNIDS)
    assert (cifar10_hierarchy().distance_matrix(classes) == cifar10_wordnet_hierarchy().distance_matrix(classes)).all().all()


@pytest.mark.parametrize('labels, message', [
    (np.array([1, 7]), r'missing from the hierarchy leaves: \[7\]$'),
    (np.array([1, 7], dtype=np.int8), r'missing from the hierarchy leaves: \[7\]$'),
    ([np.float64(2.5)], r'missing from the hierarchy leaves: \[2\.5\]$'),
])
def test_missing_labels_are_printed_as_plain_values(labels, message):
    h = Hierarchy.from_parents({1: 0, 2: 0})
    with pytest.raises(ValueError, match=message): h.check_labels(labels)
