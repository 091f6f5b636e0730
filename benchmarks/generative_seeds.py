"""How much of the GAN's mean rank on chapter 4's KEEL grid is the luck of one seed.

A GAN's training is chaotic: a different seed, or any change that only reorders floating-point sums (a faster softmax
layout, a fused optimiser), gives a different generator, and on KEEL sets whose minority class has 7 training rows a
different generator gives different scores. This script re-runs the KEEL part of `hierlearn run generative` (20 sets,
decision tree and random forest, stratified 5-fold once) with `GANOversampler(random_state=s)` for several seeds s.
Every other sampler, every fold and every model is the same; their scores come from the task cache of
`nbs/results/generative`, and the GAN's tasks for new seeds are added to it, so a rerun is instant. Seed 0 is the run
the chapter shows.

    python benchmarks/generative_seeds.py             # seeds 0-4: about 3.5 min per new seed on 2 cores
    python benchmarks/generative_seeds.py --quick     # 2 sets, seeds 0-1, a tree only, 3 folds: a smoke test
    python benchmarks/generative_seeds.py --gan '{"epochs": 150, "patience": null}' --tag long --seeds 0 1
                                                       # a GAN variant (keyword arguments of GANOversampler) in the GAN's place

Writes benchmarks/results/generative_seeds[_TAG][_quick].csv: one row per GAN seed, metric and sampler with the sampler's
mean rank (1 = best of six, averaged over the two models as in the chapter), and prints the GAN's and SMOTE's ranks.
"""
import argparse, json, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold
from hierlearn.core import summarise, write_atomic
from hierlearn.gan import GANOversampler
from hierlearn.sampling import compare, rank_table
from hierlearn.experiments.generative import generative_samplers, generative_models, GENERATIVE_KEEL

ROOT = Path(__file__).resolve().parents[1]
METRICS = ('g_mean', 'f1')


def seed_ranks(seeds, quick=False, n_jobs=-1, gan_kwargs=None) -> pd.DataFrame:
    "Mean rank of every sampler by G-mean and F1 on the KEEL grid, once per GAN seed"
    smp, mdl = generative_samplers(None), generative_models(None)
    sets = GENERATIVE_KEEL[:2] if quick else GENERATIVE_KEEL
    models = {'decision tree': mdl['decision tree']} if quick else {k: mdl[k] for k in ('decision tree', 'random forest')}
    cv = RepeatedStratifiedKFold(n_splits=3 if quick else 5, n_repeats=1, random_state=0)
    cache = (Path('/tmp') / 'hierlearn_seeds_quick') if quick else ROOT / 'nbs/results/generative/cache'
    rows = []
    for s in seeds:
        res = compare(sets, {**smp, 'GAN': GANOversampler(random_state=s, **(gan_kwargs or {}))}, models, cv=cv, n_jobs=n_jobs, seed=0, cache_dir=cache)
        summary = summarise(res, ['dataset', 'sampler', 'model'])
        ranks = {m: rank_table(summary, m)['mean'] for m in METRICS}
        rows += [dict(gan_seed=s, metric=m, sampler=sampler, mean_rank=rank) for m in METRICS for sampler, rank in ranks[m].items()]
        print(f'GAN seed {s}: ' + '; '.join(f"{m} GAN {ranks[m]['GAN']:.2f} vs SMOTE {ranks[m]['SMOTE']:.2f}" for m in METRICS), flush=True)
    return pd.DataFrame(rows)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seeds', type=int, nargs='+', default=None, help='GAN seeds (default 0-4; --quick: 0-1)')
    p.add_argument('--quick', action='store_true', help='2 KEEL sets, a tree, 3 folds: a smoke test')
    p.add_argument('--n-jobs', type=int, default=-1)
    p.add_argument('--gan', type=json.loads, default=None, help='GANOversampler keyword arguments as JSON, e.g. \'{"epochs": 150, "patience": null}\'')
    p.add_argument('--tag', default='', help='suffix of the output file, for a --gan variant')
    args = p.parse_args()
    seeds = args.seeds or ([0, 1] if args.quick else [0, 1, 2, 3, 4])
    ranks = seed_ranks(seeds, args.quick, args.n_jobs, args.gan)
    out = ROOT / 'benchmarks/results' / f"generative_seeds{'_' + args.tag if args.tag else ''}{'_quick' if args.quick else ''}.csv"
    write_atomic(out, lambda p: ranks.to_csv(p, index=False, float_format='%.4g'))
    gan = ranks[ranks.sampler.isin(['GAN', 'SMOTE'])].pivot_table(index='gan_seed', columns=['metric', 'sampler'], values='mean_rank')
    print(f'\n{gan.round(2).to_string()}\nGAN mean rank over seeds: ' + ', '.join(
        f"{m} {gan[(m, 'GAN')].mean():.2f} ± {gan[(m, 'GAN')].std():.2f}" for m in METRICS) + f'\nwrote {out}')
