"""Per-epoch overhead of `hierlearn.sampling_fastai`'s re-sampled training DataLoader against a plain fastai one.

On credit-default (10,000 rows; 8,000 training rows after a stratified 80/20 split) a fastai tabular learner
(two hidden layers of 64) is trained with a plain `TabDataLoader` and with a `ResampledTabDL` for several
imbalanced-learn samplers. For each we measure, per epoch (median over epochs and repeats):

- `fit_s`: wall time of one epoch of `learn.fit` (training + validation), re-sampling included;
- `train_s`: the training phase of that epoch (re-sampling included; validation is the same for every sampler);
- `loader_s`: wall time of iterating the training DataLoader once without a model, re-sampling included;
- `resample_s`: the time the sampler itself took (from `ResampledTabDL.resample_log`);

and report `fit_ratio` (epoch time over the plain epoch time: what a user waits), `per_row_ratio` (training-phase
time per training row seen, over the plain one: removes the effect of over-sampling making epochs longer; for
under-sampling the fixed per-epoch costs weigh on few rows) and `overhead_pct`
(re-sampling time as a share of the plain epoch time: the cost of the loader itself).

    python benchmarks/sampling_overhead.py --quick      # 3 epochs x 1 repeat, about 20 s on 2 cores
    python benchmarks/sampling_overhead.py              # 5 epochs x 3 repeats

Writes benchmarks/results/sampling_overhead[_quick].csv. The speed targets live here, not in the tests:
`--check` exits with status 1 when one is missed.
"""
import argparse, platform, statistics, sys, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
import numpy as np, pandas as pd, torch
from sklearn.model_selection import train_test_split
from imblearn.over_sampling import RandomOverSampler, SMOTE
from imblearn.under_sampling import RandomUnderSampler
from fastai.tabular.all import TabularPandas, Categorify, Normalize, CategoryBlock, tabular_learner, set_seed, Callback
from hierlearn.core import write_atomic
from hierlearn.data import load_dataset
from hierlearn.sampling_fastai import *

# Speed targets: re-sampling may cost at most this share of a plain epoch, and the time per training row seen
# may be at most this multiple of the plain loader's (per sampler; SMOTE runs a nearest-neighbour search).
TARGETS = {'RandomOverSampler': dict(overhead_pct=25, per_row_ratio=1.5),
           'RandomUnderSampler': dict(overhead_pct=25, per_row_ratio=2.0),
           'SMOTE': dict(overhead_pct=150, per_row_ratio=2.5)}

SAMPLERS = {'plain': None, 'RandomOverSampler': RandomOverSampler, 'SMOTE': SMOTE, 'RandomUnderSampler': RandomUnderSampler}


class EpochTimer(Callback):
    "Wall time of every epoch, and of its training phase"
    order = -100
    def before_fit(self): self.times, self.train_times = [], []
    def before_epoch(self): self.t0 = time.perf_counter()
    def before_train(self): self.t1 = time.perf_counter()
    def after_train(self): self.train_times.append(time.perf_counter() - self.t1)
    def after_epoch(self): self.times.append(time.perf_counter() - self.t0)


def credit_tabular():
    "Processed credit-default, split 80/20, stratified"
    ds = load_dataset('credit-default')
    df = ds.X.assign(default=ds.y.map({0: 'no', 1: 'yes'}).to_numpy())
    trn, val = train_test_split(np.arange(len(df)), test_size=0.2, stratify=df['default'], random_state=0)
    return TabularPandas(df, procs=[Categorify, Normalize], cat_names=ds.cat_names, cont_names=ds.cont_names,
                         y_names='default', y_block=CategoryBlock(), splits=(list(trn), list(val)))


def make_dls(to, name, batch_size, seed):
    cls = SAMPLERS[name]
    return to.dataloaders(bs=batch_size) if cls is None else to.resampled_dataloaders(cls(), batch_size=batch_size, seed=seed)


def measure(to, name, epochs, batch_size, seed):
    "Per-epoch times of one run: fit, loader only, re-sampling; and rows per epoch"
    set_seed(seed, reproducible=True)
    dls = make_dls(to, name, batch_size, seed)
    timer = EpochTimer()
    learn = tabular_learner(dls, layers=[64, 64], cbs=timer)
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs, 1e-2)
    fit, train = timer.times, timer.train_times
    dls2 = make_dls(to, name, batch_size, seed + 1)
    loader = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for _ in dls2.train: pass
        loader.append(time.perf_counter() - t0)
    log = getattr(dls.train, 'resample_log', pd.DataFrame())
    rows = int(log['rows'].iloc[-1]) if len(log) else len(to.train)
    # epoch 0 of a ResampledTabDL is drawn when the loader is built, outside the fit's epoch timer: count it in
    resample = log['seconds'].tolist() if len(log) else [0.0] * epochs
    if len(log): fit[0] += resample[0]; train[0] += resample[0]
    return fit, train, loader, resample, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='3 epochs, 1 repeat')
    p.add_argument('--epochs', type=int, default=None)
    p.add_argument('--repeats', type=int, default=None)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads (1: steadiest timings on a shared CPU)')
    p.add_argument('--out', type=Path, default=None)
    p.add_argument('--check', action='store_true', help='exit 1 when a speed target is missed')
    a = p.parse_args(argv)
    epochs = a.epochs or (3 if a.quick else 5)
    repeats = a.repeats or (1 if a.quick else 3)
    out = a.out or Path(__file__).parent / 'results' / f"sampling_overhead{'_quick' if a.quick else ''}.csv"
    torch.set_num_threads(a.threads)
    to = credit_tabular()
    measure(to, 'plain', 1, a.batch_size, 0)  # warm-up: imports, first allocations
    runs = {name: dict(fit=[], train=[], loader=[], resample=[], rows=0) for name in SAMPLERS}
    for r in range(repeats):          # interleaved, so that a change in the machine's load hits every sampler alike
        for name in SAMPLERS:
            f, t, l, s, n = measure(to, name, epochs, a.batch_size, seed=r)
            d = runs[name]; d['fit'] += f; d['train'] += t; d['loader'] += l; d['resample'] += s; d['rows'] = n
    med = statistics.median
    rows = [dict(sampler=k, rows_per_epoch=d['rows'], fit_s=med(d['fit']), train_s=med(d['train']), loader_s=med(d['loader']),
                 resample_s=med(d['resample']) if k != 'plain' else 0.0) for k, d in runs.items()]
    res = pd.DataFrame(rows)
    base = res.set_index('sampler').loc['plain']
    res['fit_ratio'] = res['fit_s'] / base['fit_s']
    res['per_row_ratio'] = (res['train_s'] / res['rows_per_epoch']) / (base['train_s'] / base['rows_per_epoch'])
    res['loader_ratio'] = res['loader_s'] / base['loader_s']
    res['overhead_pct'] = 100 * res['resample_s'] / base['fit_s']
    res = res.assign(epochs=epochs, repeats=repeats, batch_size=a.batch_size, threads=a.threads, device=str(torch.device('cuda' if torch.cuda.is_available() else 'cpu')),
                     torch=torch.__version__, machine=platform.machine(), when=time.strftime('%Y-%m-%d %H:%M'))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda p: res.to_csv(p, index=False))
    cols = ['sampler', 'rows_per_epoch', 'fit_s', 'fit_ratio', 'train_s', 'per_row_ratio', 'resample_s', 'overhead_pct', 'loader_s', 'loader_ratio']
    print(f"credit-default, {epochs} epochs x {repeats} repeats, batch size {a.batch_size}, {a.threads} thread(s), {res['device'][0]}: seconds per epoch (median)")
    print(res[cols].to_string(index=False, float_format=lambda v: f'{v:.3f}'))
    missed = [f"{s}: {k} {res.set_index('sampler').loc[s, k]:.2f} > {v}" for s, t in TARGETS.items() for k, v in t.items()
              if res.set_index('sampler').loc[s, k] > v]
    print('speed targets:', 'all met' if not missed else 'MISSED ' + '; '.join(missed))
    print(f'wrote {out}')
    return 1 if (missed and a.check) else 0


if __name__ == '__main__': sys.exit(main())
