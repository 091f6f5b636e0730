"""Generate README.md from nbs/index.ipynb without Quarto.

`nbdev-readme` needs Quarto, which cannot be installed on every machine. This script does the
same job with nbconvert: it drops hidden cells (`#| hide`), strips nbdev directives, renders the
notebook (outputs included) to Markdown, writes output images to README_files/ and points links
to other notebooks at nbs/. Run it after editing nbs/index.ipynb: `python tools/build_readme.py`.
"""
import re, shutil
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r"^\s*#\s*\|.*$\n?", re.MULTILINE)
NBVAL_MARK = re.compile(r"^\s*#\s*NBVAL_\w+\s*$\n?", re.MULTILINE)


def readme_markdown(nb_path: Path, files_dir: str = "README_files"):
    "Markdown of the notebook at `nb_path` and its output images, as nbdev-readme would render them"
    nb = nbformat.read(nb_path, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            if re.search(r"^\s*#\s*\|\s*hide\s*$", cell.source, re.MULTILINE): continue
            cell.source = NBVAL_MARK.sub("", DIRECTIVE.sub("", cell.source)).strip()
            if not cell.source: continue
        cells.append(cell)
    nb.cells = cells
    nb.metadata["language_info"] = {"name": "python"}   # fenced code blocks get a language
    exporter = MarkdownExporter()
    body, resources = exporter.from_notebook_node(nb, resources={"output_files_dir": files_dir})
    body = re.sub(r"\]\((?!https?:)([\w./-]+)\.ipynb\)", r"](nbs/\1.ipynb)", body)
    return body.strip() + "\n", resources.get("outputs", {})


def main():
    body, images = readme_markdown(ROOT / "nbs" / "index.ipynb")
    files = ROOT / "README_files"
    shutil.rmtree(files, ignore_errors=True)
    for name, data in images.items():
        (ROOT / name).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / name).write_bytes(data)
    (ROOT / "README.md").write_text(body)
    print(f"wrote README.md and {len(images)} image(s)")


if __name__ == "__main__":
    main()
