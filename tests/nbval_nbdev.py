"""pytest plugin that lets nbval run notebooks cleaned by `nbdev-clean` and honour nbdev's cell flags.

Loaded from `pyproject.toml` (`-p tests.nbval_nbdev`). Three jobs:

1. `nbdev-clean` keeps outputs but drops execution counts; nbval then refuses such cells with
   'Unrun reference cell has outputs'. We number the code cells again when nbval collects them,
   so that cells marked `# NBVAL_CHECK_OUTPUT` are compared and the others are only run.
2. Cells carrying an nbdev test flag from `[tool.nbdev] tst_flags` (`#| slow`, `#| cuda`) are
   skipped unless the flag is asked for with `HIERLEARN_TEST_FLAGS="slow cuda"` (as `nbdev-test
   --flags` does); `cuda` cells are also skipped when no GPU is present.
3. A cell that nbdev will not run (`#| eval: false`) must also carry nbval's `# NBVAL_SKIP`
   (nbval ignores nbdev's directive): a cell with only one of the two markers fails the run.
"""
import os, re
import pytest

_FLAG_RE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*$", re.MULTILINE)
_EVAL_FALSE_RE = re.compile(r"^\s*#\s*\|\s*eval\s*:\s*false\s*$", re.MULTILINE)
_NBVAL_SKIP_RE = re.compile(r"^\s*#\s*NBVAL_SKIP\s*$", re.MULTILINE)


def _test_flags():
    "nbdev's test flags from pyproject.toml, e.g. {'slow', 'cuda'}"
    try:
        import tomllib
        with open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb") as f:
            return set(tomllib.load(f)["tool"]["nbdev"].get("tst_flags", "").split())
    except (OSError, KeyError):
        return {"slow", "cuda"}


def _cuda_available():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def cell_skip_reason(source, requested=None, known_flags=None, has_cuda=None):
    "Why nbval should skip a cell with this `source`, or None to run it; raises on inconsistent markers"
    known_flags = _test_flags() if known_flags is None else known_flags
    requested = set(os.environ.get("HIERLEARN_TEST_FLAGS", "").split()) if requested is None else requested
    eval_false, nbval_skip = bool(_EVAL_FALSE_RE.search(source)), bool(_NBVAL_SKIP_RE.search(source))
    if eval_false != nbval_skip:
        raise ValueError("a cell that must not run in tests needs both `#| eval: false` (nbdev) and "
                         f"`# NBVAL_SKIP` (nbval); this one has only one:\n{source[:200]}")
    if eval_false: return "#| eval: false"
    for flag in _FLAG_RE.findall(source):
        if flag not in known_flags: continue
        if flag not in requested: return f"nbdev flag `{flag}` (set HIERLEARN_TEST_FLAGS='{flag}' to run)"
        if flag == "cuda" and not (_cuda_available() if has_cuda is None else has_cuda):
            return "nbdev flag `cuda` and no GPU here"
    return None


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or cell.get("cell_type") != "code": continue
        # nbdev-clean dropped the count: give the cell one back so nbval treats it as run
        if cell.get("execution_count") is None: cell["execution_count"] = item.cell_num + 1
        reason = cell_skip_reason(cell.source)
        if reason: item.add_marker(pytest.mark.skip(reason=reason))
