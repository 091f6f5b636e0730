"""Training images/s of the image chapters' fastai path against a plain PyTorch loop: same net, data, augmentation and schedule.

The fastai path is `hierlearn.experiments.tinyimagenet.train_backbone` itself (chapter 07c; chapter 07b trains the same
`small_resnet` through the same kind of DataLoader): a fastai `Learner` over an `ImageTensorDL` whose batch transforms
are `IntToFloatTensor`, `PadCropFlip(4)` and `Normalize`, `small_resnet` + a linear head, the `ChannelsLast` callback,
cross-entropy and `fit_one_cycle` with fastai's SGD (momentum 0.9, weight decay 5e-4), validation skipped. A callback
added to fastai's default callbacks for the benchmark only reads the clock after every training step (and, for the
variants, switches channels-last off).

The plain loop trains the same `small_resnet` + head (same seed, same initial weights) on the same uint8 tensors: each
step indexes a shuffled batch (the last partial batch dropped, as fastai's training DataLoader does), applies
`pad_crop_flip` and normalises with the same statistics, then forward, `F.cross_entropy`, backward,
`torch.optim.SGD` (momentum 0.9, weight decay 5e-4) and a `OneCycleLR` step with fastai's one-cycle defaults.

The images come from `cifar_lt_dls` (chapter 05a's CIFAR path): the long-tailed training set of a generated
CIFAR-format fixture (throughput depends on the image size and count, not on what they show), or of real CIFAR-10
with `--data`. Every configuration trains `epochs` short epochs of `images` images; the first `warmup` steps are not
timed. Configurations run interleaved, one run of each per round, so that other work on the machine slows both sides
alike; `fastai_to_plain` is the median over rounds of each round's paired ratio (same threads, same memory format).
The two data paths alone (no model) are timed too: they show what the fastai DataLoader costs per batch.

    python benchmarks/train_loop_speed.py --quick        # toy size: seconds, checks the path runs
    python benchmarks/train_loop_speed.py                # 1 and 2 threads × channels-last on/off, 3 rounds
    python benchmarks/train_loop_speed.py --compile      # also torch.compile'd models (needs a working inductor)

Results go to benchmarks/results/train_loop_speed.csv, one set of rows per (card, mode); other rows are kept.
"""
import argparse, datetime, os, platform, tempfile, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
import numpy as np, pandas as pd, torch
import torch.nn as nn
import torch.nn.functional as F
from fastai.callback.core import Callback
from fastai.learner import defaults
from hierlearn.core import write_atomic
from hierlearn.longtail import CIFAR_MEAN, CIFAR_STD, ImageTensorDL, ImageTensors, cifar_lt_dls, pad_crop_flip, write_cifar_fixture
from hierlearn.experiments.images import small_resnet
from hierlearn.experiments import tinyimagenet
from hierlearn.experiments.tinyimagenet import train_backbone

RESULTS = Path(__file__).parent / 'results' / 'train_loop_speed.csv'
COLUMNS = ['card', 'mode', 'path', 'threads', 'channels_last', 'compiled', 'images_per_s', 'images_per_s_min', 'images_per_s_max',
           'fastai_to_plain', 'fastai_to_plain_min', 'fastai_to_plain_max', 'rounds', 'timed_steps', 'batch_size', 'widths',
           'data', 'load_avg', 'cpus', 'torch', 'when']
# train_backbone normalises with Tiny ImageNet's statistics; the plain loop must do the same arithmetic
MEAN, STD = tinyimagenet.TINYIMAGENET_MEAN, tinyimagenet.TINYIMAGENET_STD


class _StepClock(Callback):
    "Benchmark only: the clock after every training step; optionally the model back to NCHW or compiled"
    order, setup = 100, {}   # `setup` is filled in before each run: channels_last, compiled
    def before_fit(self):
        _StepClock.times = [time.perf_counter()]
        if not self.setup.get('channels_last', True): self.learn.model.to(memory_format=torch.contiguous_format)
        if self.setup.get('compiled'): self.learn.model = torch.compile(self.learn.model)
    def after_batch(self):
        if self.training: _StepClock.times.append(time.perf_counter())


def _timed_rate(times, bs, warmup):
    "Images/s over the steps after the first `warmup`"
    return bs * (len(times) - 1 - warmup) / (times[-1] - times[warmup])


def fastai_rate(images, codes, n_classes, epochs, widths, bs, warmup, channels_last, compiled):
    "Images/s of `train_backbone` (the book's fastai path) after `warmup` steps"
    _StepClock.setup = dict(channels_last=channels_last, compiled=compiled)
    defaults.callbacks.append(_StepClock)
    try: train_backbone(images, codes, n_classes, epochs, widths, batch_size=bs, seed=0, device='cpu')
    finally: defaults.callbacks.remove(_StepClock)
    return _timed_rate(_StepClock.times, bs, warmup)


def plain_rate(images, codes, n_classes, epochs, widths, bs, warmup, channels_last, compiled):
    "Images/s of a plain PyTorch loop with the same model, data, augmentation and one-cycle SGD after `warmup` steps"
    torch.manual_seed(0)
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    y = torch.as_tensor(codes, dtype=torch.int64)
    mean, std = (torch.tensor(v)[:, None, None] for v in (MEAN, STD))
    model = nn.Sequential(small_resnet(widths), nn.Linear(widths[-1], n_classes))
    if channels_last: model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    steps = len(y) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=epochs * steps, pct_start=0.25, div_factor=25.,
                                                final_div_factor=1e5, base_momentum=0.85, max_momentum=0.95)
    step = torch.compile(model) if compiled else model
    model.train()
    times = [time.perf_counter()]
    for _ in range(epochs):
        for idx in torch.randperm(len(y))[:steps * bs].split(bs):
            xb = (pad_crop_flip(x[idx].float() / 255, 4) - mean) / std
            loss = F.cross_entropy(step(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(); sched.step()
            times.append(time.perf_counter())
    return _timed_rate(times, bs, warmup)


PHASES = ['data', 'forward', 'loss', 'backward', 'optimiser step', 'rest']
_EVENTS = ['before_batch', 'after_pred', 'after_loss', 'after_backward', 'after_step', 'after_batch']   # each phase ends at one


class _PhaseClock(Callback):
    "Benchmark only: the clock at the end of each training event, to split a step into `PHASES` (data runs from one step's end to before_batch)"
    order = 100
    def before_fit(self): _PhaseClock.stamps = []
    def _stamp(self):
        if self.training: _PhaseClock.stamps.append(time.perf_counter())
    before_batch = after_pred = after_loss = after_backward = after_step = after_batch = _stamp


def _phase_ms(stamps, start, warmup):
    "Median milliseconds of each phase over the steps after `warmup`, from a flat list of per-step stamps (6 per step)"
    ends = np.array(stamps).reshape(-1, len(PHASES))
    begins = np.concatenate([[start], ends[:-1, -1]])
    d = np.diff(np.column_stack([begins, ends]), axis=1)[warmup:]
    return dict(zip(PHASES, 1000 * np.median(d, axis=0)))


def profile_phases(images, codes, n_classes, epochs, widths, bs, warmup):
    "Median ms per step in each phase, fastai's path (its own training events) and the plain loop, 1 thread, channels-last"
    _StepClock.setup = {}
    defaults.callbacks.extend([_StepClock, _PhaseClock])
    try: train_backbone(images, codes, n_classes, epochs, widths, batch_size=bs, seed=0, device='cpu')
    finally: defaults.callbacks.remove(_StepClock); defaults.callbacks.remove(_PhaseClock)
    fastai = _phase_ms(_PhaseClock.stamps, _StepClock.times[0], warmup)
    torch.manual_seed(0)
    x, y = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))), torch.as_tensor(codes, dtype=torch.int64)
    mean, std = (torch.tensor(v)[:, None, None] for v in (MEAN, STD))
    model = nn.Sequential(small_resnet(widths), nn.Linear(widths[-1], n_classes)).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    steps = len(y) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=epochs * steps, pct_start=0.25)
    stamps, start = [], time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(y))[:steps * bs].split(bs):
            xb, yb = (pad_crop_flip(x[idx].float() / 255, 4) - mean) / std, y[idx]; stamps.append(time.perf_counter())
            out = model(xb); stamps.append(time.perf_counter())
            loss = F.cross_entropy(out, yb); stamps.append(time.perf_counter())
            loss.backward(); stamps.append(time.perf_counter())
            opt.step(); stamps.append(time.perf_counter())
            opt.zero_grad(set_to_none=True); sched.step(); stamps.append(time.perf_counter())
    return pd.DataFrame({'fastai': fastai, 'plain PyTorch': _phase_ms(stamps, start, warmup)})


def loader_rates(images, codes, n_classes, bs, n_batches):
    "Batches/s of the two data paths alone (index, crop and flip, normalise; no model): fastai's DataLoader and the plain code"
    from fastai.data.transforms import IntToFloatTensor, Normalize
    from hierlearn.longtail import PadCropFlip
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    y = torch.as_tensor(codes, dtype=torch.int64)
    tfms = [IntToFloatTensor(), PadCropFlip(4), Normalize.from_stats(MEAN, STD, cuda=False)]
    dl = ImageTensorDL(ImageTensors(x, y, list(range(n_classes)), 0), bs=bs, shuffle=True, after_batch=tfms, device='cpu')
    mean, std = (torch.tensor(v)[:, None, None] for v in (MEAN, STD))
    t0, n = time.perf_counter(), 0
    while n < n_batches:
        for _ in dl:
            n += 1
            if n == n_batches: break
    fastai = n_batches / (time.perf_counter() - t0)
    t0, n = time.perf_counter(), 0
    while n < n_batches:
        for idx in torch.randperm(len(y))[:len(y) // bs * bs].split(bs):
            (pad_crop_flip(x[idx].float() / 255, 4) - mean) / std; y[idx]
            n += 1
            if n == n_batches: break
    return fastai, n_batches / (time.perf_counter() - t0)


def training_images(n_images, bs, data, quick, tmp):
    "uint8 N×32×32×3 images and class codes: the first `n_images` (a multiple of `bs`) of `cifar_lt_dls`'s long-tailed training set"
    if data is None:
        source, desc = write_cifar_fixture(Path(tmp) / 'cifar10', n_train=20 if quick else 160, n_test=1), 'fixture'
    else: source, desc = 'cifar10', 'CIFAR-10'
    ds = cifar_lt_dls(source, 10, batch_size=bs, device='cpu', data=data).train_ds
    n = min(n_images, len(ds)) // bs * bs
    if n < bs: raise ValueError(f"{len(ds)} training images, fewer than one batch of {bs}")
    keep = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:n]
    images = ds.images[keep].permute(0, 2, 3, 1).contiguous().numpy()
    return images, ds.labels[keep].numpy(), len(ds.vocab), f'{desc}, CIFAR-10-LT ρ = 10, {n} images'


def cpu_name():
    "The CPU's model name"
    model = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')),
                 platform.machine()) if Path('/proc/cpuinfo').exists() else platform.machine()
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='toy size: 64 images, batch 16, 1 thread, channels-last, 1 round (seconds)')
    p.add_argument('--rounds', type=int, default=None, help='rounds over all configurations (default 3; quick: 1)')
    p.add_argument('--images', type=int, default=None, help='training images per epoch, 3 epochs per run (default 512: 4 steps of 128; quick: 64)')
    p.add_argument('--threads', type=int, nargs='+', default=None, help='torch CPU threads to try (default: 1 2; quick: 1)')
    p.add_argument('--widths', type=int, nargs=3, default=(16, 32, 64), help="small_resnet's stage widths (default 16 32 64, chapter 07b's; "
                   "chapter 07c's backbone is 32 64 128)")
    p.add_argument('--compile', action='store_true', help='also torch.compile the model on both paths (1 thread, channels-last)')
    p.add_argument('--data', type=Path, default=None, help='a folder or archive holding cifar10/: real CIFAR-10 images instead of a fixture')
    p.add_argument('--profile', type=int, default=None, metavar='STEPS',
                   help='instead: split STEPS training steps of each path (1 thread, channels-last) into data, forward, loss, '
                        'backward, optimiser step and the rest, and print the median ms per step of each')
    p.add_argument('--out', type=Path, default=RESULTS, help=f'the CSV to write (default {RESULTS})')
    a = p.parse_args(argv)
    if a.quick: n_images, bs, epochs, warmup, rounds, threads, layouts = 64, 16, 2, 2, 1, [1], [True]
    else: n_images, bs, epochs, warmup, rounds, threads, layouts = 512, 128, 3, 2, 3, [1, 2], [True, False]
    n_images, rounds, threads, widths = a.images or n_images, a.rounds or rounds, a.threads or threads, tuple(a.widths)
    mode = 'quick' if a.quick else 'full'
    with tempfile.TemporaryDirectory() as tmp: images, codes, n_classes, data_desc = training_images(n_images, bs, a.data, a.quick, tmp)
    if a.profile:
        torch.set_num_threads(1)
        per_epoch = max(bs, a.profile // 3 * bs)
        with tempfile.TemporaryDirectory() as tmp: images, codes, n_classes, _ = training_images(per_epoch, bs, a.data, a.quick, tmp)
        table = profile_phases(images, codes, n_classes, 3, widths, bs, warmup)
        print(f'median ms per step, {3 * len(codes) // bs} steps of {bs} images ({warmup} not counted), widths {widths}:')
        print(table.assign(ratio=table['fastai'] / table['plain PyTorch']).round(2).to_string())
        print(f"step total: fastai {table['fastai'].sum():.1f} ms, plain {table['plain PyTorch'].sum():.1f} ms")
        return
    configs = [(t, cl, False) for t in threads for cl in layouts] + ([(1, True, True)] if a.compile else [])
    runs = {'fastai': fastai_rate, 'plain PyTorch': plain_rate}
    rates = {(path, *c): [] for c in configs for path in runs}
    loaders = {'fastai DataLoader only': [], 'plain batches only': []}
    steps = epochs * (len(codes) // bs)
    for r in range(rounds):
        for c in configs:
            torch.set_num_threads(c[0])
            for path, run in (runs.items() if r % 2 == 0 else reversed(runs.items())):   # alternate which side goes first
                t0 = time.perf_counter()
                rates[(path, *c)].append(run(images, codes, n_classes, epochs, widths, bs, warmup, *c[1:]))
                print(f"round {r + 1}: {path:13} {c[0]} thread(s) {'channels-last' if c[1] else 'NCHW':13} "
                      f"{'compiled ' if c[2] else ''}{rates[(path, *c)][-1]:7.1f} images/s ({time.perf_counter() - t0:.0f} s)", flush=True)
        torch.set_num_threads(threads[0])
        for k, v in zip(loaders, loader_rates(images, codes, n_classes, bs, steps)): loaders[k].append(v * bs)
    rows = []
    for (path, t, cl, comp), v in rates.items():
        paired = np.array(v) / np.array(rates[('plain PyTorch', t, cl, comp)]) if path == 'fastai' else np.full(len(v), np.nan)
        rows.append(dict(path=path, threads=t, channels_last=cl, compiled=comp, images_per_s=np.median(v), images_per_s_min=min(v),
                         images_per_s_max=max(v), fastai_to_plain=np.median(paired), fastai_to_plain_min=paired.min(),
                         fastai_to_plain_max=paired.max()))
    fl, pl = np.array(loaders['fastai DataLoader only']), np.array(loaders['plain batches only'])
    for path, v in loaders.items():
        paired = fl / pl if path.startswith('fastai') else np.full(len(v), np.nan)
        rows.append(dict(path=path, threads=threads[0], channels_last=False, compiled=False, images_per_s=np.median(v),
                         images_per_s_min=min(v), images_per_s_max=max(v), fastai_to_plain=np.median(paired),
                         fastai_to_plain_min=paired.min(), fastai_to_plain_max=paired.max()))
    card = f'{cpu_name()} (CPU)'
    res = pd.DataFrame(rows).assign(card=card, mode=mode, rounds=rounds, timed_steps=steps - warmup, batch_size=bs,
                                    widths='-'.join(map(str, widths)), data=data_desc, load_avg=round(os.getloadavg()[0], 2),
                                    cpus=os.cpu_count(), torch=torch.__version__,
                                    when=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))[COLUMNS]
    out = a.out
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        old = pd.read_csv(out)
        res = pd.concat([old[~((old.card == card) & (old['mode'] == mode))], res], ignore_index=True)[COLUMNS]
    write_atomic(out, lambda p: res.to_csv(p, index=False))
    shown = res[(res.card == card) & (res['mode'] == mode)]
    print(shown[['path', 'threads', 'channels_last', 'compiled', 'images_per_s', 'fastai_to_plain', 'fastai_to_plain_min',
                 'fastai_to_plain_max']].round(3).to_string(index=False))
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
