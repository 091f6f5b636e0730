"""How `hierlearn.hierarchy.Hierarchy` scales with the number of leaves and with the depth of the tree.

Two families of trees:

- `balanced`: iNaturalist-like taxonomies of 100, 1,000 and 10,000 leaves, every leaf at depth 7 (kingdom, phylum,
  class, order, family, genus, species), each level splitting in the same number of branches (the smallest that
  reaches the leaf count; the last species are left out);
- `chain`: a single path of depth 1,000 and 10,000 (one leaf), and `caterpillar`: the same spine with one extra
  leaf hanging from every spine node (depth + 1 leaves, at every depth from 1 to the height).

For each tree we time (median over repeats, wall clock):

- `from_parents`: building the tree from its child -> parent map (checks for cycles and roots, depths, order);
- `distance_matrix`: the LCA distance between every pair of leaves (an int16 matrix);
- `json_round_trip`: `to_json` then `from_json` through a temporary file;
- `nested_round_trip`: `to_nested` then `from_nested` (in memory);

and, in a second, untimed run under `tracemalloc`, the peak memory each step allocates (`peak_mb`; numpy's arrays are
counted).

    python benchmarks/hierarchy_scale.py --quick    # up to 1,000 leaves and depth 1,000, one repeat, a few seconds
    python benchmarks/hierarchy_scale.py            # up to 10,000 leaves and depth 10,000, 3 repeats, under a minute

Writes benchmarks/results/hierarchy_scale[_quick].csv (one row per tree and step). The goals live here, not in the
tests: at 10,000 leaves, building the tree plus its distance matrix in at most 2 s; at depth 10,000 (chain and
caterpillar), building, the JSON round trip and the nested round trip each in at most 1 s. `--check` exits with
status 1 when a goal is missed.
"""
import argparse, platform, statistics, sys, tempfile, time, tracemalloc
from pathlib import Path
import numpy as np, pandas as pd
from hierlearn.core import write_atomic
from hierlearn.hierarchy import Hierarchy

LEAF_GOAL_S, DEPTH_GOAL_S = 2.0, 1.0   # at 10,000 leaves: from_parents + distance_matrix; at depth 10,000: each step


def balanced(n_leaves:int, depth:int=7) -> dict:
    "child -> parent map of a tree with `n_leaves` leaves, all at `depth`, every level branching alike"
    b = 2
    while b ** depth < n_leaves: b += 1
    parents = {}
    for i in range(n_leaves):                      # leaf i's ancestor at level L is number i // b**(depth - L) there
        child = f'species{i}'
        for level in range(depth - 1, -1, -1):
            parent = f'L{level}_{i // b ** (depth - level)}' if level else 'life'
            if child in parents: break
            parents[child] = parent; child = parent
    return parents


def chain(depth:int) -> dict:
    "A single path of `depth` edges: node k's parent is k - 1 (int names)"
    return {k: k - 1 for k in range(1, depth + 1)}


def caterpillar(depth:int) -> dict:
    "A spine of `depth` edges with one leaf hanging from every spine node but the last"
    spine = chain(depth)
    return {**spine, **{f'leaf{k}': k for k in range(depth)}}


def steps(parents:dict, tmp:Path) -> dict:
    "The timed steps, each a function of nothing"
    h = Hierarchy.from_parents(parents)
    return {'from_parents': lambda: Hierarchy.from_parents(parents),
            'distance_matrix': lambda: h.distance_matrix(),
            'json_round_trip': lambda: Hierarchy.from_json(h.to_json(tmp / 'h.json')),
            'nested_round_trip': lambda: Hierarchy.from_nested(h.to_nested())}


def seconds(f, repeats:int) -> float:
    "Median wall time of `f()` over `repeats` calls"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_mb(f) -> float:
    "Peak memory allocated while `f()` runs, in MB (tracemalloc; numpy reports its arrays to it)"
    tracemalloc.start()
    try: f(); return tracemalloc.get_traced_memory()[1] / 1e6
    finally: tracemalloc.stop()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='up to 1,000 leaves and depth 1,000, one repeat')
    p.add_argument('--repeats', type=int, default=None)
    p.add_argument('--out', type=Path, default=None)
    p.add_argument('--check', action='store_true', help='exit 1 when a goal is missed')
    a = p.parse_args(argv)
    repeats = a.repeats or (1 if a.quick else 3)
    sizes, depths = ([100, 1_000], [1_000]) if a.quick else ([100, 1_000, 10_000], [1_000, 10_000])
    out = a.out or Path(__file__).parent / 'results' / f"hierarchy_scale{'_quick' if a.quick else ''}.csv"
    cases = ([('balanced', n, balanced(n)) for n in sizes] + [('chain', d, chain(d)) for d in depths]
             + [('caterpillar', d, caterpillar(d)) for d in depths])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, size, parents in cases:
            h = Hierarchy.from_parents(parents)
            for step, f in steps(parents, Path(tmp)).items():
                f()   # warm-up: first allocations, imports
                rows.append(dict(case=case, size=size, nodes=len(h), leaves=len(h.leaves), height=h.height, step=step,
                                 seconds=seconds(f, repeats), peak_mb=peak_mb(f)))
    res = pd.DataFrame(rows).assign(repeats=repeats, python=platform.python_version(), numpy=np.__version__,
                                    machine=platform.machine(), when=time.strftime('%Y-%m-%d %H:%M'))
    write_atomic(out, lambda p: res.to_csv(p, index=False))
    print(f'seconds (median of {repeats}) and peak MB per step; size = leaves (balanced) or depth (chain, caterpillar)')
    print(res.pivot_table(index=['case', 'size'], columns='step', values=['seconds', 'peak_mb'], sort=False)
             .to_string(float_format=lambda v: f'{v:.3f}'))
    t = res.set_index(['case', 'size', 'step'])['seconds']
    goals = []
    if ('balanced', 10_000, 'from_parents') in t.index:
        s = t['balanced', 10_000, 'from_parents'] + t['balanced', 10_000, 'distance_matrix']
        goals.append((f'10,000 leaves: from_parents + distance_matrix {s:.3f} s <= {LEAF_GOAL_S} s', s <= LEAF_GOAL_S))
    for case in ('chain', 'caterpillar'):
        for step in ('from_parents', 'json_round_trip', 'nested_round_trip'):
            if (case, 10_000, step) in t.index:
                s = t[case, 10_000, step]
                goals.append((f'depth 10,000 ({case}): {step} {s:.3f} s <= {DEPTH_GOAL_S} s', s <= DEPTH_GOAL_S))
    for text, ok in goals: print(('met     ' if ok else 'MISSED  ') + text)
    if not goals: print('goals: not measured (run without --quick)')
    print(f'wrote {out}')
    return 1 if (a.check and not all(ok for _, ok in goals)) else 0


if __name__ == '__main__': sys.exit(main())
