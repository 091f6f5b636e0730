"""Execute notebooks in place, as the test run does: cells that carry an nbdev test flag not asked for
(`#| slow`, `#| cuda`) or `#| eval: false` are skipped and keep the outputs they have; every other code
cell is run top to bottom and its outputs replaced. Run `nbdev-clean` afterwards.

    python tools/run_notebook.py nbs/06_hierarchy.ipynb [more.ipynb ...]
    HIERLEARN_TEST_FLAGS=slow python tools/run_notebook.py nbs/07b_experiments_images.ipynb
"""
import os, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.nbval_nbdev import cell_skip_reason


def run_notebook(path, timeout=1200):
    "Run the code cells of the notebook at `path` that a test run would run, and write it back atomically"
    os.environ.pop('MPLBACKEND', None)   # the kernel's inline backend keeps the figures as outputs; Agg would drop them
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}})
    start, ran = time.time(), 0
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != 'code' or cell_skip_reason(cell.source): continue
            client.execute_cell(cell, index)
            ran += 1
    tmp = path.with_name(f'.{path.name}.tmp')
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    print(f'{path}: ran {ran} cells in {time.time() - start:.0f} s')


if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    for name in sys.argv[1:]: run_notebook(name)
