"""Build the hierlearn book as a static HTML site, without Quarto: nbdev's processing, then MkDocs.

Where Quarto is installed, the documentation is built the nbdev way (`nbdev-docs`). Quarto cannot
be installed on every machine (no package ships its binary), so this script does the same job with
a notebook site builder from PyPI (the `dev` extra installs it)::

    python tools/build_docs.py [--out _docs] [--force]

1. nbdev's own processing (`nbdev.quarto.proc_nbs`, what `nbdev-proc-nbs` runs, which would first
   try to download Quarto) writes the processed notebooks to `_proc/`: `#| hide` cells gone,
   `show_doc` API docs added, the H1 title and `> summary` turned into frontmatter, backticked
   names linked to their API docs.
2. `stage()` is the glue between nbdev's output and a generic builder: it turns the frontmatter
   back into a title, applies the Quarto cell options nbdev leaves (`#| echo/output/include: false`),
   turns pandoc's link attributes into HTML, points links at notebooks and at the hosted docs to
   the local pages, and names each notebook after its `output-file` (`01_imbalance.ipynb` ->
   `imbalance.html`, as nbdev and Quarto name it).
3. MkDocs with mkdocs-jupyter and the Material theme renders the site (`mkdocs.yml` at the repo
   root holds the theme settings); the navigation is `_quarto.yml`'s `website.sidebar.contents`,
   parts as sections, in book order. Everything is local: no web fonts, math left as TeX.

Serve the result with `python -m http.server -d _docs -b 127.0.0.1`; `tests/test_docs.py` checks
it in a headless browser.
"""
from __future__ import annotations

import argparse, html, json, logging, os, re, shutil, sys, tempfile, time
from pathlib import Path

import nbformat, yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NO_INPUT = "hierlearn-no-input"  # cell tag for `#| echo: false` (mkdocs.yml removes these inputs)
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*(?::\s*(.*?))?\s*$")
_ATTR_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)\{([^}\n]*)\}")  # show_doc's [source](url){target=... style=...}
_NB_LINK = re.compile(r'(\]\(|href=")([^)"#:]+\.ipynb)')


class BuildError(Exception): "The docs cannot be built (the message says why)"


def process_notebooks(force: bool = False, n_workers: int | None = None) -> Path:
    "Run nbdev's notebook processing (what `nbdev-proc-nbs` does, minus its Quarto install); returns `_proc/`"
    from nbdev.config import get_config
    from nbdev.quarto import proc_nbs
    cwd = os.getcwd()
    os.chdir(ROOT)  # nbdev's processors call `get_config()` without a path
    # show_doc imports the library: take this checkout's, also in nbdev's worker processes
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    try: return Path(proc_nbs(str(get_config().nbs_path), force=force, **({} if n_workers is None else {"n_workers": n_workers})))
    except Exception as e:
        raise BuildError(f"nbdev's notebook processing failed:\n{e}\nnbdev runs every cell that imports something "
                         "(so that show_doc works): give imports cells of their own. `nbdev-docs` fails the same way.") from e
    finally: os.chdir(cwd)


def frontmatter(nb) -> dict:
    "The YAML frontmatter nbdev puts in a processed notebook's first raw cell"
    raw = next((c.source for c in nb.cells if c.cell_type == "raw"), "")
    m = re.match(r"\s*---\s*\n(.*?)\n---", raw, re.DOTALL)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def _read_processed(path: Path):
    "A notebook from `_proc/` without the keys nbdev's processing adds (`has_sd`, execution timings), which nbformat's schema refuses"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for c in raw.get("cells", []):
        c.pop("has_sd", None)
        c.get("metadata", {}).pop("execution", None)
    return nbformat.reads(json.dumps(raw), as_version=4)


def stage(proc: Path, dest: Path, doc_url: str) -> dict[str, str]:
    "Write `proc`'s notebooks to `dest` in the form the builder reads; returns {notebook: page}"
    from nbdev.config import nbpath2html
    nbs = {p.name: _read_processed(p) for p in sorted(proc.glob("*.ipynb"))}
    pages = {name: frontmatter(nb).get("output-file") or nbpath2html(name).name for name, nb in nbs.items()}

    def md(s: str) -> str:
        s = _ATTR_LINK.sub(lambda m: f'<a href="{m[2]}" {m[3]}>{m[1]}</a>', s)
        if doc_url: s = s.replace(doc_url, "")  # nbdev links API names to the hosted docs: use the local pages
        return _NB_LINK.sub(lambda m: m[1] + (pages.get(Path(m[2]).name) or nbpath2html(Path(m[2]).name).name), s)

    for name, raw in nbs.items():
        fm = frontmatter(raw)
        head = f"# {fm.get('title') or Path(name).stem}"
        if fm.get("description"): head += f'\n\n<div class="description">{html.escape(str(fm["description"]))}</div>'
        cells = [new_markdown_cell(head)]
        for c in raw.cells:
            if c.cell_type == "markdown": cells.append(new_markdown_cell(md(c.source)))
            if c.cell_type != "code": continue
            lines = c.source.splitlines()
            opts = {m[1]: (m[2] or "true").strip("'\"").lower() for l in lines if (m := _DIRECTIVE.match(l))}
            if opts.get("include") == "false": continue
            code = "\n".join(l for l in lines if not _DIRECTIVE.match(l) and not l.startswith("# NBVAL_")).strip("\n")
            outputs = [] if opts.get("output") == "false" else c.get("outputs", [])
            for o in outputs:
                if "text/markdown" in o.get("data", {}): o["data"]["text/markdown"] = md(o["data"]["text/markdown"])
            cell = new_code_cell(code, outputs=outputs)  # a new cell: drops the keys nbdev adds (`has_sd`)
            if opts.get("echo") == "false" or not code.strip(): cell.metadata["tags"] = [NO_INPUT]
            if code.strip() or outputs: cells.append(cell)
        nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                                 "language_info": {"name": "python"}})
        nbformat.write(nb, dest / pages[name].replace(".html", ".ipynb"))
    return pages


def nav(contents, pages: dict[str, str], say) -> list:
    "MkDocs' nav from `_quarto.yml`'s sidebar contents: parts become sections; notebooks not there yet are skipped"
    out = []
    for item in contents or []:
        if isinstance(item, dict) and "contents" in item:
            kids = nav(item["contents"], pages, say)
            if kids: out.append({str(item.get("section") or item.get("text") or ""): kids})
        else:
            nb = item if isinstance(item, str) else (item.get("href") or item.get("file") or "")
            if nb in pages: out.append(pages[nb].replace(".html", ".ipynb"))
            else: say(f"note: {nb} is in _quarto.yml's sidebar but not in nbs/ (yet); skipped")
    return out


def pandoc_id(text: str) -> str:
    "The id pandoc (so Quarto) gives a heading with this text: nbdev links API names to these (`#learner.fit_warmup_step`)"
    s = re.sub(r"\s+", "-", re.sub(r"[^\w\s.-]", "", text.strip().lower()))
    return re.sub(r"^[^a-z]+", "", s) or "section"


def on_page_content(body: str, page, **kw) -> str:
    "MkDocs hook (mkdocs.yml `hooks:`): pandoc's heading ids (duplicates numbered), and the page's contents to match"
    from mkdocs.structure.toc import get_toc
    if not page.file.src_uri.endswith(".ipynb"): return body
    seen, root = {}, {"level": 0, "children": []}
    stack = [root]
    def repl(m):
        level, attrs, inner = int(m[1]), re.sub(r'\s*id="[^"]*"', "", m[2]), m[3]
        text = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("¶", "").strip()
        base = pandoc_id(text); n = seen.get(base, 0); seen[base] = n + 1
        hid = f"{base}-{n}" if n else base
        if level <= 3:
            while stack[-1]["level"] >= level: stack.pop()
            stack[-1]["children"].append(tok := {"level": level, "id": hid, "name": html.escape(text), "children": []})
            stack.append(tok)
        inner = re.sub(r'(class="anchor-link" href=")#[^"]*', rf"\g<1>#{hid}", inner)
        return f'<h{level} id="{hid}"{attrs}>{inner}</h{level}>'
    body = re.sub(r"<h([1-6])([^>]*)>(.*?)</h\1>", repl, body, flags=re.DOTALL)
    page.toc = get_toc(root["children"])
    return body


def build(out: Path, force: bool = False, n_workers: int | None = None, quiet: bool = False) -> dict:
    "Build the site into `out` (emptied first); returns {'pages': [...], 'seconds': ...}"
    try:
        from mkdocs.commands.build import build as mkdocs_build
        from mkdocs.config import load_config
    except ImportError as e: raise BuildError(f"{e}: install the dev extra, `pip install -e '.[dev]'`") from e
    from nbdev.config import get_config
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    t0 = time.perf_counter()
    if out.exists() and any(out.iterdir()) and not (out / "sitemap.xml").exists():
        raise BuildError(f"{out} is not empty and holds no earlier build; MkDocs empties its output folder: pick another")
    site = (yaml.safe_load((ROOT / "_quarto.yml").read_text()) or {}).get("website") or {}
    proc = process_notebooks(force=force, n_workers=n_workers)
    say(f"nbdev processing -> {proc} ({time.perf_counter() - t0:.1f} s)")
    cfg = get_config(ROOT)
    host, base = str(cfg.get("doc_host") or "").rstrip("/"), str(cfg.get("doc_baseurl") or "").strip("/")
    with tempfile.TemporaryDirectory(prefix="hierlearn-docs-") as tmp:
        src = Path(tmp)
        pages = stage(proc, src, host and "/".join(filter(None, [host, base])) + "/")
        for rel in pages: say(f"  {rel:<32} -> {pages[rel]}")
        shutil.copy(ROOT / "nbs" / "styles.css", src / "styles.css")  # the project's CSS (Quarto's too)
        config = load_config(str(ROOT / "mkdocs.yml"), docs_dir=str(src), site_dir=str(out),
                             site_name=site.get("title") or "hierlearn", site_description=site.get("description"),
                             nav=nav((site.get("sidebar") or {}).get("contents"), pages, say))
        config.plugins.on_startup(command="build", dirty=False)  # as `mkdocs build` does
        try: mkdocs_build(config)
        finally: config.plugins.on_shutdown()
    secs = time.perf_counter() - t0
    say(f"built {len(pages)} page(s) in {out} in {secs:.1f} s")
    return {"pages": sorted(pages.values()), "seconds": secs}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Quarto-free docs build: nbdev's processing, then MkDocs.")
    ap.add_argument("--out", default=None, help="output folder (default: [tool.nbdev] doc_path, i.e. _docs)")
    ap.add_argument("--force", action="store_true", help="re-process every notebook (ignore _proc/'s cache)")
    ap.add_argument("--workers", type=int, default=None, help="processes for nbdev's processing (default: all CPUs)")
    args = ap.parse_args(argv)
    if args.out is None:
        from nbdev.config import get_config
        out = Path(get_config(ROOT).doc_path)
    else: out = Path(args.out).absolute()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # MkDocs' warnings
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # (nbconvert: "Alternative text is missing on N images")
    try: build(out, force=args.force, n_workers=args.workers)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
