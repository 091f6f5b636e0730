"Tests of the plugin that lets nbval run nbdev-cleaned notebooks (tests/nbval_nbdev.py)"
import json
from pathlib import Path
import pytest
from tests.nbval_nbdev import cell_skip_reason

FLAGS = {"slow", "cuda"}


def test_plain_cell_runs():
    assert cell_skip_reason("x = 1", requested=set(), known_flags=FLAGS) is None


def test_eval_false_needs_nbval_skip_too():
    with pytest.raises(ValueError, match="needs both"):
        cell_skip_reason("#| eval: false\nx = 1", requested=set(), known_flags=FLAGS)
    with pytest.raises(ValueError, match="needs both"):
        cell_skip_reason("# NBVAL_SKIP\nx = 1", requested=set(), known_flags=FLAGS)
    assert cell_skip_reason("#| eval: false\n# NBVAL_SKIP\nx = 1", requested=set(), known_flags=FLAGS) == "#| eval: false"


def test_flags_skip_unless_requested():
    assert "slow" in cell_skip_reason("#| slow\nx = 1", requested=set(), known_flags=FLAGS)
    assert cell_skip_reason("#| slow\nx = 1", requested={"slow"}, known_flags=FLAGS) is None
    assert "no GPU" in cell_skip_reason("#| cuda\nx = 1", requested={"cuda"}, known_flags=FLAGS, has_cuda=False)
    assert cell_skip_reason("#| cuda\nx = 1", requested={"cuda"}, known_flags=FLAGS, has_cuda=True) is None
    assert cell_skip_reason("#| export\nx = 1", requested=set(), known_flags=FLAGS) is None   # not a test flag


def test_every_notebook_marks_skips_consistently():
    "No notebook cell has only one of the two skip markers"
    for nb in sorted(Path(__file__).parent.parent.joinpath("nbs").rglob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code": cell_skip_reason("".join(cell["source"]), requested=set(), known_flags=FLAGS)


def test_cleaned_notebooks_have_no_execution_counts():
    "The notebooks are stored as nbdev-clean leaves them, so the plugin's renumbering is what nbval relies on"
    for nb in sorted(Path(__file__).parent.parent.joinpath("nbs").rglob("*.ipynb")):
        counts = [c.get("execution_count") for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        assert all(c is None for c in counts), f"{nb.name} is not cleaned: run nbdev-clean"
