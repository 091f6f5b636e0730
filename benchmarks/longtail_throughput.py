"""Images per second of a training epoch of the CIFAR-LT ResNet-32 (chapter 05a, `hierlearn.longtail`).

Same ResNet-32, same long-tailed training images (in device memory, as `cifar_lt_dls` keeps them), same batch size (128
unless `--batch-size` says otherwise):

- every method of `LONGTAIL_METHODS` through `longtail_learner` + `fit_warmup_step` (the fastai path), and its ratio to
  cross-entropy on the same path (`ratio_to_ce`: what a loss costs);
- a minimal plain-PyTorch loop (index the tensors, `pad_crop_flip`, normalise, forward, `F.cross_entropy`, backward,
  `torch.optim.SGD` step; the same precision and memory format), and fastai's CE speed over it (`fastai_to_plain`: what
  fastai's training loop costs);
- on CUDA also CE in float32 and in the default memory format, to show what mixed precision and channels-last buy;
- the training DataLoader alone (batches indexed, augmented and normalised on the device, no model): if it is not
  much faster than training, the data pipeline starves the model.

Images/s is the number of training images over the wall time of the training phase of an epoch (validation left out,
CUDA synchronised). Every configuration runs once per round, the configurations interleaved, for two rounds; each run's
first epoch (warm-up) is not timed, and the fastest timed epoch counts, since on a shared machine other work can only
make an epoch slower.

    python benchmarks/longtail_throughput.py --quick                 # CPU, a minute or two: a small fixture (ρ = 10)
    python benchmarks/longtail_throughput.py --device cuda           # GPU: a fixture the size of CIFAR-10-LT ρ = 100
    python benchmarks/longtail_throughput.py --device cuda --data /datasets/cifar    # real CIFAR-10-LT ρ = 100

Without `--data` it writes a synthetic CIFAR-format fixture (`write_cifar_fixture`) to a temporary folder: throughput
depends on the image size and count, not on what the images show. Results go to
benchmarks/results/longtail_throughput.csv (or `--out`), one set of rows per (device, card, mode); other rows are kept.
"""
import argparse, datetime, os, platform, tempfile, time, warnings
from functools import partial
from pathlib import Path

warnings.filterwarnings('ignore')
import pandas as pd, torch
import torch.nn.functional as F
from fastai.torch_core import set_seed
from hierlearn.core import write_atomic
from hierlearn.longtail import (LONGTAIL_METHODS, CIFAR_MEAN, CIFAR_STD, PhaseTimerCallback, cifar_lt_dls, longtail_learner,
                                pad_crop_flip, resnet32, write_cifar_fixture)

RESULTS = Path(__file__).parent / 'results' / 'longtail_throughput.csv'


def _sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def fastai_epochs(dls, method, epochs, precision, channels_last):
    "Training-phase seconds of each epoch of `longtail_learner(method)` trained with the recipe"
    set_seed(0)
    timer = PhaseTimerCallback()
    learn = longtail_learner(dls, method, epochs=epochs, precision=precision, channels_last=channels_last, cbs=timer)
    with learn.no_bar(), learn.no_logging(): learn.fit_warmup_step(epochs)
    return timer.train_s


def plain_epochs(dls, epochs, precision, channels_last):
    "Seconds of each epoch of a minimal PyTorch loop over the same tensors, model, augmentation and batch size"
    set_seed(0)
    ds, bs = dls.train_ds, dls.train.bs
    images, labels, dev = ds.images, ds.labels, ds.images.device
    mean, std = (torch.tensor(v, device=dev)[:, None, None] for v in (CIFAR_MEAN, CIFAR_STD))
    model = resnet32(len(ds.vocab)).to(dev)
    if channels_last: model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=2e-4)
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(precision)
    scaler = torch.amp.GradScaler('cuda', enabled=precision == 'fp16')
    times = []
    for _ in range(epochs):
        _sync(dev); t0 = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(labels), device=dev).split(bs):
            x = (pad_crop_flip(images[idx].float() / 255) - mean) / std
            with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt); scaler.update()
        _sync(dev); times.append(time.perf_counter() - t0)
    return times


def loader_epochs(dls, epochs):
    "Seconds of each pass over the training DataLoader alone: batches indexed, augmented and normalised, no model"
    dev, times = dls.train_ds.images.device, []
    for _ in range(epochs):
        _sync(dev); t0 = time.perf_counter()
        for _ in dls.train: pass
        _sync(dev); times.append(time.perf_counter() - t0)
    return times


def card_name(device, threads):
    if device.type == 'cuda': return torch.cuda.get_device_name(device)
    model = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')),
                 platform.machine()) if Path('/proc/cpuinfo').exists() else platform.machine()
    return f'{model}, {threads} thread{"s" if threads > 1 else ""}'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='small fixture, 1 + 2 epochs per configuration and round (about a minute on a CPU)')
    p.add_argument('--rounds', type=int, default=2, help='rounds over all configurations (default 2)')
    p.add_argument('--device', choices=('cpu', 'cuda'), default=None, help='default: CUDA when available')
    p.add_argument('--data', type=Path, default=None, help='a folder holding cifar10/: real CIFAR-10-LT instead of a fixture')
    p.add_argument('--threads', type=int, default=1, help='CPU threads for torch on the CPU (default 1)')
    p.add_argument('--batch-size', type=int, default=128, help='batch size (default 128, the recipe\'s)')
    p.add_argument('--epochs', type=int, default=None, help='timed epochs per configuration and round (default 4; quick: 2)')
    p.add_argument('--out', type=Path, default=RESULTS, help=f'the CSV to write (default {RESULTS})')
    a = p.parse_args()
    device = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cuda' and not torch.cuda.is_available(): p.error('--device cuda, but torch sees no CUDA GPU')
    if device.type == 'cpu': torch.set_num_threads(a.threads)
    else: torch.backends.cudnn.benchmark = True
    mode = ('quick' if a.quick else 'full') + ('' if a.batch_size == 128 else f', batch size {a.batch_size}')
    ratio, timed = (10, 2) if a.quick else (100, 4)
    timed = a.epochs or timed
    with tempfile.TemporaryDirectory() as tmp:
        if a.data is None:
            source = write_cifar_fixture(Path(tmp) / 'cifar10', n_train=48 if a.quick else 5000, n_test=8 if a.quick else 100)
            data_desc = f'fixture, ρ = {ratio}'
        else: source, data_desc = 'cifar10', f'CIFAR-10-LT, ρ = {ratio}'
        dls = cifar_lt_dls(source, ratio, batch_size=a.batch_size, device=device, data=a.data)
        amp = 'fp32' if device.type == 'cpu' else ('bf16' if torch.cuda.is_bf16_supported() else 'fp16')
        nhwc = device.type == 'cuda'
        configs = [('fastai', m, amp, nhwc) for m in LONGTAIL_METHODS] + [('plain PyTorch', 'ce', amp, nhwc), ('DataLoader only', '-', 'fp32', False)]
        if device.type == 'cuda':
            configs += [(path, 'ce', prec, False) for path in ('fastai', 'plain PyTorch') for prec in ('fp32', amp)]
        secs, n = {c: [] for c in configs}, len(dls.train_ds)
        for r in range(a.rounds):
            for c in configs:
                path, method, prec, cl = c
                t0 = time.perf_counter()
                run = {'fastai': partial(fastai_epochs, dls, method), 'plain PyTorch': partial(plain_epochs, dls), 'DataLoader only': None}[path]
                secs[c] += (loader_epochs(dls, 1 + timed) if run is None else run(1 + timed, prec, cl))[1:]
                print(f"round {r + 1}: {path:14} {method:16} {prec} {'channels-last' if cl else 'NCHW':13} "
                      f"{n / min(secs[c][-timed:]):9.0f} images/s ({time.perf_counter() - t0:.0f} s)", flush=True)
    res = pd.DataFrame([dict(path=path, method=method, precision=prec, channels_last=cl, train_images=n, batch_size=a.batch_size,
                             epochs_timed=len(s), images_per_s=n / min(s)) for (path, method, prec, cl), s in secs.items()])
    ce = res[(res.path == 'fastai') & (res.method == 'ce')].set_index(['precision', 'channels_last']).images_per_s
    plain = res[res.path == 'plain PyTorch'].set_index(['precision', 'channels_last']).images_per_s
    key = list(zip(res.precision, res.channels_last))
    res['ratio_to_ce'] = [r.images_per_s / ce[k] if r.path == 'fastai' else float('nan') for r, k in zip(res.itertuples(), key)]
    res['fastai_to_plain'] = [r.images_per_s / plain[k] if r.path == 'fastai' and r.method == 'ce' else float('nan')
                              for r, k in zip(res.itertuples(), key)]
    card = card_name(device, a.threads)
    res.insert(0, 'mode', mode); res.insert(0, 'card', card); res.insert(0, 'device', device.type)
    res = res.assign(data=data_desc, threads=a.threads if device.type == 'cpu' else None, load_avg=round(os.getloadavg()[0], 2),
                     cpus=os.cpu_count(), torch=torch.__version__,
                     when=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.out.exists():
        old = pd.read_csv(a.out)
        res = pd.concat([old[~((old.device == device.type) & (old.card == card) & (old['mode'] == mode))], res], ignore_index=True)
    write_atomic(a.out, lambda p: res.to_csv(p, index=False))
    print(res[res.card == card][['path', 'method', 'precision', 'channels_last', 'images_per_s', 'ratio_to_ce', 'fastai_to_plain']]
          .round(3).to_string(index=False))
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
