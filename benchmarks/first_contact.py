"""What a new user waits for: `hierlearn --help`, `hierlearn run --list` and the default `hierlearn run`.

Each command runs as a user would start it (a fresh process, the installed console script), in an empty
folder, and is timed by wall clock:

- `hierlearn --help` and `hierlearn run --list`: median of 5 runs; goal at most 1 s (the experiments'
  modules, PyTorch and fastai among them, are imported only when an experiment runs);
- `hierlearn run` (the credit experiment, full protocol: 2 datasets x 4 models x 5-fold CV x 3 repeats, threshold
  tuned by an inner 3-fold CV): one run; goal at most 2 minutes of wall time on 2 cores. `--quick` times
  `hierlearn run --quick` instead (the goal does not apply).

Besides the wall time, the script checks that the output is readable: no line of the printed report wider than
100 characters (fastprogress fits its bar to the terminal itself), no "nan", no Python warning on stderr.

    python benchmarks/first_contact.py --quick      # about 1 minute
    python benchmarks/first_contact.py              # about 3 minutes on 2 quiet cores

Writes benchmarks/results/first_contact[_quick].csv (atomically). `--check` exits with status 1 when a goal
is missed. The machine's load changes the times: run it alone.
"""
import argparse, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import pandas as pd
from hierlearn.core import write_atomic

PROGRESS_BAR = re.compile(r'\|\S*\| +\d+\.\d+% \[')
GOALS = {'hierlearn --help': 1.0, 'hierlearn run --list': 1.0, 'hierlearn run': 120.0}


def timed(args, cwd, repeats=1):
    "Median wall seconds of `hierlearn *args` in `cwd`, and the last run's completed process"
    exe = shutil.which('hierlearn') or sys.exit('the hierlearn console script is not installed (pip install -e .)')
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        r = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if r.returncode: sys.exit(f"hierlearn {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return statistics.median(times), r


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='time `hierlearn run --quick` instead of the full default run')
    p.add_argument('--check', action='store_true', help='exit with status 1 when a goal is missed')
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as cwd:
        for args, repeats in [(['--help'], 5), (['run', '--list'], 5), (['run', '--quick'] if a.quick else ['run'], 1)]:
            secs, r = timed(args, cwd, repeats)
            name = 'hierlearn ' + ' '.join(args)
            report = [l for l in r.stdout.splitlines() if not PROGRESS_BAR.search(l)]   # fastprogress fits its bar to the terminal's width itself
            rows.append(dict(command=name, seconds=round(secs, 2), goal_s=GOALS.get(name), widest_line=max(map(len, report), default=0),
                             has_nan='nan' in r.stdout.lower(), warnings_on_stderr='Warning' in r.stderr,
                             cpus=os.cpu_count(), load_average=round(os.getloadavg()[0], 2), machine=platform.machine()))
            print(f'{name:24} {secs:7.2f} s' + (f'  (goal {GOALS[name]:g} s)' if name in GOALS else ''), flush=True)
    res = pd.DataFrame(rows)
    res['met'] = res.goal_s.isna() | (res.seconds <= res.goal_s)
    out = Path(__file__).parent/'results'/f"first_contact{'_quick' if a.quick else ''}.csv"
    write_atomic(out, lambda f: res.to_csv(f, index=False))
    print(res.to_string(index=False), f'\nwrote {out}', sep='\n')
    readable = (res.widest_line <= 100) & ~res.has_nan & ~res.warnings_on_stderr
    if a.check and not (res.met & readable).all(): sys.exit(1)


if __name__ == '__main__': main()
