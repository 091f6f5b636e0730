"""Build the hierlearn book as a static HTML site in `_docs/`, without Quarto.

Where Quarto is installed, the documentation is built the nbdev way::

    nbdev-docs            # nbdev-proc-nbs + `quarto render`, writes _docs/

Quarto cannot be installed on every machine (no package ships its binary), so this script does
the same job with nbconvert::

    python tools/build_docs.py [--out _docs] [--force]

1. nbdev's own processing (`nbdev.quarto.proc_nbs`, what `nbdev-proc-nbs` runs) writes the
   processed notebooks to `_proc/`: `#| hide` cells are gone, nbdev directives removed,
   `show_doc` cells added and executed (the API docs), the H1 title and `> summary` turned into
   frontmatter, backticked names linked to their API docs. Notebook code is not executed beyond
   that. (We call `proc_nbs` directly: the `nbdev-proc-nbs` command first tries to download and
   install Quarto when it is missing.)
2. Every processed notebook is rendered to HTML with nbconvert's `HTMLExporter`, honouring the
   Quarto cell options nbdev leaves in place (`#| echo: false`, `#| output: false`,
   `#| include: false`); plots are embedded as data URIs, so each page is self-contained.
3. Each page gets a sidebar with the book's structure from `_quarto.yml`'s
   `website.sidebar.contents` (parts as headings, chapters as links, in that order) and
   previous/next links. Pages are named as nbdev and Quarto name them (`01_imbalance.ipynb` ->
   `imbalance.html`, nbdev's `output-file`), links to notebooks (`foo.ipynb#bar`) and nbdev's
   links to this project's hosted docs are rewritten to the local pages, and headings get
   pandoc-style ids so that the anchors nbdev and Quarto use (`#load_dataset`) work.
   `index.html` (from `nbs/index.ipynb`) is the home page. No network resources are used: CSS
   is local (the project's `nbs/styles.css` included) and math is left as TeX (no MathJax).

Sidebar entries whose notebook does not exist yet are skipped with a note. Open
`_docs/index.html` in a browser, or serve it: `python -m http.server -d _docs -b 127.0.0.1`.
`tests/test_docs.py` checks the result in a headless browser.
"""
from __future__ import annotations

import argparse, html, os, posixpath, re, shutil, sys, time
from dataclasses import dataclass, field
from pathlib import Path

from urllib.parse import unquote

import nbformat, yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# The book's structure: `_quarto.yml`'s sidebar


@dataclass
class Entry:
    "A sidebar entry: a page (`href` is a notebook path relative to nbs/, or a URL) or a part with `children`"
    text: str | None = None
    href: str | None = None
    children: list["Entry"] = field(default_factory=list)

    @property
    def is_section(self): return self.href is None


def _entry(item) -> Entry | None:
    if isinstance(item, str): return Entry(href=item)
    if not isinstance(item, dict): return None
    if "section" in item or "contents" in item:
        kids = item.get("contents") or []
        kids = [e for e in map(_entry, kids if isinstance(kids, list) else [kids]) if e is not None]
        sec = str(item.get("section") or item.get("text") or "")
        if item.get("href"): return Entry(text=sec or None, href=str(item["href"]), children=kids)  # a part with its own page
        if sec.endswith((".ipynb", ".qmd", ".md")): return Entry(text=item.get("text"), href=sec, children=kids)
        return Entry(text=sec, children=kids)
    href = item.get("href") or item.get("file")
    if href: return Entry(text=item.get("text"), href=str(href))
    return None  # separators (`text: "---"`) and anything we do not know


def read_sidebar(quarto_yml: Path) -> tuple[dict, list[Entry]]:
    "The `website` settings and the sidebar entries (in book order) of `quarto_yml`"
    cfg = yaml.safe_load(quarto_yml.read_text()) or {}
    site = cfg.get("website") or {}
    sidebar = site.get("sidebar") or {}
    if isinstance(sidebar, list): sidebar = sidebar[0] if sidebar else {}
    contents = sidebar.get("contents") or []
    return site, [e for e in map(_entry, contents) if e is not None]


def iter_pages(entries):
    "Every page entry in `entries`, depth first (book order)"
    for e in entries:
        if e.href is not None: yield e
        yield from iter_pages(e.children)


# ---------------------------------------------------------------------------------------------
# Step 1: nbdev's processing


def process_notebooks(force: bool = False, n_workers: int | None = None) -> Path:
    "Run nbdev's notebook processing (what `nbdev-proc-nbs` does, minus its Quarto install); returns `_proc/`"
    from nbdev.config import get_config
    from nbdev.quarto import proc_nbs
    cwd = os.getcwd()
    os.chdir(ROOT)  # nbdev's processors call `get_config()` without a path
    # show_doc imports the library: take this checkout's, also in nbdev's worker processes
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    try:
        cfg = get_config()
        kw = {} if n_workers is None else {"n_workers": n_workers}
        return Path(proc_nbs(str(cfg.nbs_path), force=force, **kw))
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------------------------------------
# Step 2: one processed notebook -> HTML body

_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*(?::\s*(.*?))?\s*$")
_NBVAL_MARK = re.compile(r"^\s*#\s*NBVAL_\w+\s*$")
_FM = re.compile(r"^\s*---\s*\n(.*?)\n---\s*$", re.DOTALL)
# pandoc link attributes, as in show_doc's `[source](url){target="_blank" style="..."}`
_ATTR_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)\{([^}\n]*)\}")
_FENCED_DIV_OPEN = re.compile(r"^:::+\s*(?:\{([^}]*)\}|([\w-]+))\s*$")
_FENCED_DIV_CLOSE = re.compile(r"^:::+\s*$")


def _truthy(v: str) -> bool: return v.strip().strip("'\"").lower() not in ("false", "no", "0", "none")


def split_directives(source: str) -> tuple[dict, str]:
    "Quarto/nbdev cell options (`#| key: value`) at the top of `source`, and the code without them or nbval markers"
    opts, lines, top = {}, [], True
    for line in source.splitlines():
        m = _DIRECTIVE.match(line)
        if m and top:
            opts[m.group(1).lower()] = m.group(2) if m.group(2) is not None else "true"
            continue
        if _NBVAL_MARK.match(line): continue
        if line.strip(): top = False
        lines.append(line)
    return opts, "\n".join(lines).strip("\n")


def _pandoc_attrs(attrs: str) -> str:
    "pandoc `{#id .class key=value}` -> HTML attributes"
    out, classes = [], []
    for tok in re.findall(r'[\w-]+="[^"]*"|[\w-]+=\'[^\']*\'|[\w-]+=\S+|[#.][\w-]+', attrs):
        if tok.startswith("#"): out.append(f'id="{html.escape(tok[1:])}"')
        elif tok.startswith("."): classes.append(tok[1:])
        else:
            k, v = tok.split("=", 1)
            out.append(f'{k}="{html.escape(v.strip(chr(34) + chr(39)))}"')
    if classes: out.append(f'class="{" ".join(classes)}"')
    return " ".join(out)


def quarto_markdown(md: str) -> str:
    "Translate the bits of Quarto/pandoc markdown nbdev emits (attribute links, `:::` divs) to markdown+HTML"
    md = _ATTR_LINK.sub(lambda m: f'<a href="{html.escape(m.group(2))}" {_pandoc_attrs(m.group(3))}>{m.group(1)}</a>', md)
    if ":::" not in md: return md
    out = []
    for line in md.splitlines():
        if (m := _FENCED_DIV_OPEN.match(line)):
            attrs = _pandoc_attrs(m.group(1)) if m.group(1) is not None else f'class="{m.group(2)}"'
            cls = re.search(r'class="([^"]*)"', attrs)
            if cls and "callout" in cls.group(1): attrs = attrs.replace(cls.group(0), f'class="{cls.group(1)} callout"')
            out += ["", f"<div {attrs}>", ""]
        elif _FENCED_DIV_CLOSE.match(line): out += ["", "</div>", ""]
        else: out.append(line)
    return "\n".join(out)


@dataclass
class Page:
    "A processed notebook to render"
    src: Path         # the processed notebook in _proc/
    rel: str          # its path relative to nbs/ (posix), e.g. '01_imbalance.ipynb'
    out: str          # its page relative to the site root (posix), e.g. 'imbalance.html'
    title: str = ""
    description: str = ""
    nb: object = None


def load_page(src: Path, proc_dir: Path) -> Page:
    "Read the processed notebook `src`: frontmatter (title, description, output-file) and cells cleaned for nbconvert"
    rel = src.relative_to(proc_dir).as_posix()
    raw = nbformat.read(src, as_version=4)
    fm, cells = {}, []
    for c in raw.cells:
        src_text = c.get("source", "")
        if isinstance(src_text, list): src_text = "".join(src_text)
        if c.cell_type == "raw":
            m = _FM.match(src_text)
            if m and not fm:
                try: fm = yaml.safe_load(m.group(1)) or {}
                except yaml.YAMLError: fm = {}
                continue
            cell = new_raw_cell(src_text)
            fmt = (c.get("metadata") or {}).get("format") or (c.get("metadata") or {}).get("raw_mimetype")
            if fmt: cell.metadata["format"] = fmt
            cells.append(cell)
        elif c.cell_type == "markdown":
            if not src_text.strip() or re.fullmatch(r"\s*<!--.*?-->\s*", src_text, re.DOTALL): continue
            cell = new_markdown_cell(quarto_markdown(src_text))
            if c.get("attachments"): cell["attachments"] = c["attachments"]
            cells.append(cell)
        elif c.cell_type == "code":
            opts, code = split_directives(src_text)
            if not _truthy(opts.get("include", "true")): continue
            outputs = list(c.get("outputs") or []) if _truthy(opts.get("output", "true")) else []
            for o in outputs:
                if "text/markdown" in o.get("data", {}):
                    md = o["data"]["text/markdown"]
                    o["data"]["text/markdown"] = quarto_markdown("".join(md) if isinstance(md, list) else md)
            show_code = _truthy(opts.get("echo", "true")) and bool(code.strip())
            if not show_code and not outputs: continue
            cell = new_code_cell(code, outputs=[nbformat.from_dict(o) for o in outputs])
            if not show_code: cell.metadata["tags"] = [_NO_INPUT]
            cells.append(cell)
    nb = new_notebook(metadata={k: raw.metadata[k] for k in ("kernelspec", "language_info") if k in raw.metadata})
    nb.cells = cells  # (not validated here: nbconvert validates leniently)
    out = posixpath.join(posixpath.dirname(rel), fm["output-file"]) if fm.get("output-file") else _page_name(rel)
    title = str(fm.get("title") or Path(rel).stem)
    return Page(src=src, rel=rel, out=out, title=title, description=str(fm.get("description") or ""), nb=nb)


_NO_INPUT = "hierlearn-docs-no-input"  # tag for cells shown without their code (`#| echo: false`)


def _exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {_NO_INPUT}
    return HTMLExporter(config=c, template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True,
                        embed_images=False, anchor_link_text="¶")


def render_body(page: Page, exporter) -> str:
    "The page's cells as HTML (output images embedded as data URIs)"
    body, _ = exporter.from_notebook_node(page.nb, resources={"metadata": {"path": str(page.src.parent)}})
    return body


# ---------------------------------------------------------------------------------------------
# Step 3: links, anchors, layout

_HEADING = re.compile(r"<h([1-6])([^>]*)>(.*?)</h\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_HREF = re.compile(r'(\b(?:href|src)=")([^"]*)(")')


def pandoc_id(text: str) -> str:
    "The identifier pandoc/Quarto give a heading with this text (so nbdev's `#name` links resolve)"
    s = html.unescape(_TAG.sub("", text)).replace("¶", "").strip().lower()
    s = re.sub(r"[^\w\s.-]", "", s)
    s = re.sub(r"\s+", "-", s)
    s = re.sub(r"^[^a-z]+", "", s)
    return s or "section"


def fix_anchors(body: str) -> str:
    "Give headings pandoc-style ids and point their ¶ anchor links at them"
    seen = {}
    def repl(m):
        level, attrs, inner = m.groups()
        new = pandoc_id(inner)
        n = seen.get(new, 0); seen[new] = n + 1
        if n: new = f"{new}-{n}"
        attrs = re.sub(r'\s*id="[^"]*"', "", attrs)
        inner = re.sub(r'(<a class="anchor-link" href=")#[^"]*(")', rf"\g<1>#{new}\g<2>", inner)
        return f'<h{level} id="{html.escape(new)}"{attrs}>{inner}</h{level}>'
    return _HEADING.sub(repl, body)


def _page_name(nb_rel: str) -> str:
    "The page nbdev and Quarto make of a notebook: `tutorials/01_foo.ipynb` -> `tutorials/foo.html`"
    from nbdev.config import nbpath2html
    p = Path(nb_rel)
    return (p.parent / nbpath2html(p).name).as_posix()


def rewrite_links(body: str, page: Page, nb2out: dict[str, str], doc_prefixes: list[str],
                  assets: set | None = None, missing: set | None = None) -> str:
    """Point links at notebooks (`foo.ipynb#x`) and at this project's hosted docs to the local pages;
    relative links to other files (a markdown image) are added to `assets` (paths relative to nbs/),
    links to notebooks that do not exist (yet) to `missing`"""
    here = posixpath.dirname(page.rel)
    local_pages = set(nb2out.values())
    def repl(m):
        pre, url, post = m.groups()
        u = html.unescape(url)
        target = None
        for p in doc_prefixes:  # https://<doc_host><doc_baseurl>/imbalance.html#stats -> imbalance.html#stats
            if u.startswith(p):
                path, _, frag = u[len(p):].partition("#")
                if path.endswith(".html.md"): path = path[:-3]
                if path in local_pages: target = (path, frag)
                break
        if target is None and not re.match(r"^[a-zA-Z][\w+.-]*:|^//|^#", u):
            path, _, frag = u.partition("#")
            key = posixpath.normpath(posixpath.join(here, path)) if path else ""
            if path.endswith(".ipynb"):
                if key not in nb2out and missing is not None: missing.add(key)
                target = (nb2out.get(key) or _page_name(key), frag)
            elif path and assets is not None and not key.startswith("..") and not path.endswith(".html"):
                assets.add(unquote(key))
        if target is None: return m.group(0)
        path, frag = target
        rel = posixpath.relpath(path, here or ".")
        return pre + html.escape(rel + (f"#{frag}" if frag else "")) + post
    return _HREF.sub(repl, body)


def _rel(page: Page, target: str) -> str: return posixpath.relpath(target, posixpath.dirname(page.out) or ".")


def sidebar_html(entries: list[Entry], page: Page, pages: dict[str, Page]) -> str:
    "The book's contents as nested lists; pages that do not exist are left out"
    def items(es, depth):
        out = []
        for e in es:
            kids = items(e.children, depth + 1) if e.children else ""
            link = ""
            if e.href is not None:
                if re.match(r"^[a-zA-Z][\w+.-]*:", e.href):
                    link = f'<a class="external" href="{html.escape(e.href)}">{html.escape(e.text or e.href)}</a>'
                elif e.href in pages:
                    p = pages[e.href]
                    cur = ' class="active" aria-current="page"' if p is page else ""
                    link = f'<a href="{html.escape(_rel(page, p.out))}"{cur}>{html.escape(e.text or p.title)}</a>'
                elif not e.children: continue
            if e.is_section or e.children:
                if not kids and not link: continue
                head = link or f'<span class="part-title">{html.escape(e.text or "")}</span>'
                out.append(f'<li class="part">{head}<ul>{kids}</ul></li>')
            else:
                out.append(f"<li>{link}</li>")
        return "".join(out)
    return f'<nav id="sidebar" aria-label="Contents"><ul class="toc">{items(entries, 0)}</ul></nav>'


GENERATOR = "hierlearn tools/build_docs.py (nbdev-proc-nbs + nbconvert)"
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{generator}">
<title>{doc_title}</title>
<meta name="description" content="{meta_desc}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<header id="topbar"><a class="site-title" href="{home}">{site_title}</a><span class="site-description">{site_desc}</span></header>
<div id="layout">
{sidebar}
<main id="content">
<header class="page-header"><h1 class="title">{title}</h1>{description}</header>
{body}
<footer class="page-nav">{prev}{next}</footer>
</main>
</div>
</body>
</html>
"""

BASE_CSS = """
:root { --fg: #212529; --muted: #6c757d; --link: #2761e3; --border: #dee2e6; --code-bg: #f7f7f9; --side-w: 16rem; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.6;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--link); text-decoration: none; } a:hover { text-decoration: underline; }
#topbar { display: flex; gap: 1rem; align-items: baseline; padding: .6rem 1.5rem; background: #2780e3; color: #fff; }
#topbar a.site-title { color: #fff; font-weight: 600; font-size: 1.2rem; }
#topbar .site-description { opacity: .85; font-size: .9rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#layout { display: flex; align-items: flex-start; max-width: 84rem; margin: 0 auto; }
#sidebar { flex: 0 0 var(--side-w); position: sticky; top: 0; max-height: 100vh; overflow-y: auto; padding: 1.2rem 1rem; font-size: .92rem; }
#sidebar ul { list-style: none; margin: 0; padding: 0; }
#sidebar ul ul { padding-left: .8rem; margin-bottom: .6rem; }
#sidebar li { margin: .15rem 0; }
#sidebar .part-title { display: block; margin-top: .8rem; font-weight: 600; color: var(--muted); text-transform: none; }
#sidebar a { display: block; color: var(--fg); padding: .1rem .4rem; border-radius: .25rem; }
#sidebar a.active { background: #e7f1ff; color: var(--link); font-weight: 600; }
#content { flex: 1 1 auto; min-width: 0; padding: 1.2rem 2rem 3rem; max-width: 60rem; }
.page-header h1.title { margin: .4rem 0 .2rem; font-size: 2.2rem; line-height: 1.2; }
.page-header .description { color: var(--muted); font-size: 1.15rem; margin: 0 0 1.5rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6rem 0 .6rem; }
h2 { border-bottom: 1px solid var(--border); padding-bottom: .2rem; }
.anchor-link { visibility: hidden; margin-left: .3rem; font-size: .8em; color: var(--muted); }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link, h4:hover .anchor-link { visibility: visible; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .875rem; }
pre { overflow-x: auto; margin: 0; padding: .6rem .8rem; }
:not(pre) > code { background: var(--code-bg); padding: .05rem .25rem; border-radius: .2rem; }
.cell { margin: 0 0 1rem; }
.input_area .highlight, .rendered_html pre { background: var(--code-bg); border-radius: .3rem; }
.code_cell .input { margin-bottom: .3rem; }
.prompt { display: none; }
.output_subarea { margin-left: .8rem; overflow-x: auto; }
.output_text pre, .output_stream pre, .output_subarea > pre { border-left: 2px solid lightsalmon; background: none; padding: .2rem .8rem; }
.output_stderr pre { background: #fff4f4; }
.output_png img, .output_jpeg img, .output_svg svg, .rendered_html img { max-width: 100%; height: auto; }
.output_markdown > hr:first-child { margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid var(--border); padding: .25rem .6rem; text-align: left; vertical-align: top; }
table.dataframe td, table.dataframe th { text-align: right; }
th { background: #f1f3f5; }
blockquote { margin: 1rem 0; padding: .2rem 1rem; border-left: 4px solid var(--border); color: var(--muted); }
.callout { border-left: 4px solid #2780e3; background: #f3f8fe; padding: .2rem 1rem; margin: 1rem 0; border-radius: .25rem; }
.callout-warning, .callout-caution { border-color: #ff7518; background: #fff6ef; }
.callout-important { border-color: #ff0039; background: #fff0f3; }
.callout-tip { border-color: #3fb618; background: #f3fbf0; }
hr { border: 0; border-top: 1px solid var(--border); margin: 1.5rem 0; }
.page-nav { display: flex; justify-content: space-between; gap: 1rem; margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--border); }
.page-nav .next { margin-left: auto; text-align: right; }
@media (max-width: 50rem) { #layout { display: block; } #sidebar { position: static; max-height: none; border-bottom: 1px solid var(--border); } #content { padding: 1rem; } }
"""


def site_css(nbs_path: Path) -> str:
    "Our layout CSS, pygments' highlighting and the project's own nbs/styles.css"
    from pygments.formatters import HtmlFormatter
    css = [BASE_CSS, HtmlFormatter(style="default").get_style_defs(".highlight")]
    extra = nbs_path / "styles.css"
    if extra.exists(): css.append(f"/* {extra.name} */\n" + extra.read_text())
    return "\n".join(css)


def _doc_prefixes() -> list[str]:
    "URL prefixes of this project's hosted docs (nbdev links backticked names there)"
    from nbdev.config import get_config
    cfg = get_config(ROOT)
    host, base = str(cfg.get("doc_host") or "").rstrip("/"), str(cfg.get("doc_baseurl") or "").strip("/")
    if not host: return []
    return [f"{host}/{base}/" if base else f"{host}/"]


class BuildError(Exception): "The docs cannot be built (the message says why)"


def build(out: Path, force: bool = False, n_workers: int | None = None, quiet: bool = False) -> dict:
    "Build the site into `out`; returns {'pages': [...], 'skipped': [...], 'seconds': ...}"
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    t0 = time.perf_counter()
    from nbdev.config import get_config
    nbs_path = Path(get_config(ROOT).nbs_path)
    quarto_yml = nbs_path / "_quarto.yml"
    if not quarto_yml.exists(): quarto_yml = ROOT / "_quarto.yml"
    site, entries = read_sidebar(quarto_yml)

    try: proc = process_notebooks(force=force, n_workers=n_workers)
    except Exception as e:
        msg = str(e).strip()
        hint = ("\nnbdev runs every cell that imports something (so that show_doc works), also when it holds "
                "other code: give imports cells of their own (nbdev FAQ). `nbdev-docs` fails the same way.")
        raise BuildError(f"nbdev's notebook processing failed:\n{msg}" + (hint if "Error in notebook" in msg else "")) from e
    say(f"nbdev processing -> {proc.relative_to(ROOT) if proc.is_relative_to(ROOT) else proc} ({time.perf_counter() - t0:.1f} s)")

    pages: dict[str, Page] = {}
    for src in sorted(proc.rglob("*.ipynb")):
        rel = src.relative_to(proc)
        if any(part.startswith((".", "_")) for part in rel.parts[:-1]) or ".ipynb_checkpoints" in rel.parts: continue
        if not (nbs_path / rel).exists(): continue  # stale copy
        page = load_page(src, proc)
        pages[page.rel] = page

    listed, skipped = [], []
    for e in iter_pages(entries):
        if re.match(r"^[a-zA-Z][\w+.-]*:", e.href): continue
        if e.href in pages: listed.append(e.href)
        else:
            skipped.append(e.href)
            why = "is not a notebook (only notebooks are rendered)" if (nbs_path / e.href).exists() else "does not exist yet"
            say(f"note: {e.href} is in _quarto.yml's sidebar but nbs/{e.href} {why}; skipped")
    for rel in pages:
        if rel not in listed: say(f"note: nbs/{rel} is not in _quarto.yml's sidebar; rendered, but not linked from it")
    if "index.ipynb" not in pages: say("note: nbs/index.ipynb does not exist; the site has no home page")

    out.mkdir(parents=True, exist_ok=True)
    for old in out.rglob("*.html"):  # earlier pages of this build (notebooks may have been removed)
        if GENERATOR in old.read_text(encoding="utf-8", errors="replace")[:1000]: old.unlink()
    (out / "site.css").write_text(site_css(nbs_path))
    nb2out = {rel: p.out for rel, p in pages.items()}
    prefixes = _doc_prefixes()
    order = [pages[r] for r in listed] + [p for r, p in pages.items() if r not in listed]
    exporter = _exporter()
    assets: set[str] = set()
    home = pages.get("index.ipynb")
    site_title = str(site.get("title") or "hierlearn")
    for i, page in enumerate(order):
        body = render_body(page, exporter)
        missing: set[str] = set()
        body = rewrite_links(fix_anchors(body), page, nb2out, prefixes, assets, missing)
        for m in sorted(missing): say(f"note: nbs/{page.rel} links to {m}, which does not exist (yet)")
        in_book = page.rel in listed
        k = listed.index(page.rel) if in_book else -1
        prev_p = pages[listed[k - 1]] if in_book and k > 0 else None
        next_p = pages[listed[k + 1]] if in_book and k + 1 < len(listed) else None
        nav = lambda p, cls, arrow: (f'<a class="{cls}" rel="{cls}" href="{html.escape(_rel(page, p.out))}">'
                                     f'{arrow} {html.escape(p.title)}</a>' if p else "")
        doc_title = page.title if page is home or page.title == site_title else f"{page.title} – {site_title}"
        text = PAGE.format(
            generator=GENERATOR, doc_title=html.escape(doc_title), meta_desc=html.escape(page.description),
            css=html.escape(_rel(page, "site.css")),
            home=html.escape(_rel(page, home.out if home else "index.html")),
            site_title=html.escape(site_title), site_desc=html.escape(str(site.get("description") or "")),
            sidebar=sidebar_html(entries, page, pages), title=html.escape(page.title),
            description=f'<p class="description">{html.escape(page.description)}</p>' if page.description else "",
            body=body, prev=nav(prev_p, "prev", "←"), next=nav(next_p, "next", "→"))
        dest = out / page.out
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        say(f"  {page.rel:<28} -> {dest.relative_to(out).as_posix()}  ({page.title})")
    for a in sorted(assets):  # images etc. that markdown cells link to, beside the pages as in nbs/
        src = nbs_path / a
        if src.is_file():
            (out / a).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / a)
    secs = time.perf_counter() - t0
    say(f"built {len(order)} page(s) in {out} in {secs:.1f} s")
    return {"pages": [p.out for p in order], "skipped": skipped, "seconds": secs}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Quarto-free docs build: nbdev-proc-nbs, then nbconvert to static HTML.")
    ap.add_argument("--out", default=None, help="output folder (default: [tool.nbdev] doc_path, i.e. _docs)")
    ap.add_argument("--force", action="store_true", help="re-process every notebook (ignore _proc/'s cache)")
    ap.add_argument("--workers", type=int, default=None, help="processes for nbdev's processing (default: all CPUs)")
    args = ap.parse_args(argv)
    if args.out is None:
        from nbdev.config import get_config
        out = Path(get_config(ROOT).doc_path)
    else: out = Path(args.out).absolute()
    try: build(out, force=args.force, n_workers=args.workers)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
