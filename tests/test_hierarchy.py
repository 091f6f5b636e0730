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
