"""The Quarto-free docs build (`tools/build_docs.py`), checked in a real headless browser.

The site is built once into a temporary folder, or taken from `HIERLEARN_DOCS_DIR` when that
points at a prebuilt one (`.ci/run` builds `_docs/` before pytest and sets it). It is served on
127.0.0.1 and opened in Debian's `chromium` through `chromedriver` (`apt-get install chromium
chromium-driver`); without them the browser tests are skipped, unless `HIERLEARN_REQUIRE_BROWSER=1`
(as in CI), where they fail. The book's structure comes from `_quarto.yml`, and the expected
titles and plots from the notebooks in nbs/, not from the build script. Every page is visited
and checked for sideways overflow, with a screenshot each in `$HIERLEARN_DOCS_SCREENSHOTS` (else
a temporary folder). The visit at the laptop width (1280 px) is made once and shared by the checks
of what a reader sees on every page: no temporary or home folder in the text, no table cut off,
figures drawn large enough to read. `test_figure_sizes_in_the_source` checks the source of the
figures (the notebooks and the library) without a browser.
"""
import ast, base64, functools, html, http.server, json, os, posixpath, re, shutil, struct, subprocess, sys, tempfile, threading, warnings
from pathlib import Path

import nbformat, pytest, yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PREFERRED_CHAPTER = "01_imbalance.ipynb"
_URL = re.compile(r"^[a-zA-Z][\w+.-]*:")


# --------------------------------------------------------------------------------------------
# What the book should contain, read from _quarto.yml and nbs/

def _sidebar_items(contents, part=None):
    "(part title, notebook path) for every notebook entry of a Quarto sidebar, in order"
    for item in contents or []:
        if isinstance(item, str): yield part, item
        elif isinstance(item, dict):
            if "contents" in item or "section" in item:
                sec = item.get("section") or item.get("text") or ""
                if item.get("href"): yield part, item["href"]  # a part with its own page
                elif str(sec).endswith(".ipynb"): yield part, sec
                kids = item.get("contents") or []
                yield from _sidebar_items(kids if isinstance(kids, list) else [kids], sec or part)
            elif item.get("href") or item.get("file"): yield part, item.get("href") or item.get("file")


def book():
    "[(part, notebook)] of the sidebar entries in `_quarto.yml` whose notebook exists in nbs/"
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    sidebar = cfg["website"]["sidebar"]
    if isinstance(sidebar, list): sidebar = sidebar[0]
    return [(part, nb) for part, nb in _sidebar_items(sidebar["contents"])
            if str(nb).endswith(".ipynb") and not _URL.match(nb) and (NBS / nb).exists()]


def page_of(nb: str) -> str:
    "The page nbdev and Quarto give a notebook (`01_imbalance.ipynb` -> `imbalance.html`)"
    from nbdev.config import nbpath2html
    p = Path(nb)
    return (p.parent / nbpath2html(p).name).as_posix()


def nb_title(nb: str) -> str:
    "A notebook's title: its frontmatter `title:`, else its first markdown H1"
    cells = nbformat.read(NBS / nb, as_version=4).cells
    for c in cells:
        if c.cell_type == "raw" and (m := re.search(r"^title:\s*(.+?)\s*$", c.source, re.MULTILINE)):
            return m.group(1).strip("'\"")
        if c.cell_type == "markdown" and (m := re.search(r"^#\s+(.+?)\s*$", c.source, re.MULTILINE)):
            return m.group(1)
    return Path(nb).stem


def has_plot(nb: str) -> bool:
    "Does the notebook hold a saved image output?"
    return any(k.startswith("image/") for c in nbformat.read(NBS / nb, as_version=4).cells
               if c.cell_type == "code" for o in c.get("outputs", []) for k in o.get("data", {}))


def chapter_with_plot():
    "The chapter whose plot the browser test looks at: 01_imbalance if it exists, else the first with an image"
    chapters = [nb for _, nb in book() if nb != "index.ipynb"]
    if PREFERRED_CHAPTER in chapters: return PREFERRED_CHAPTER
    return next((nb for nb in chapters if has_plot(nb)), None)


# --------------------------------------------------------------------------------------------
# Fixtures: the built site, a loopback server, the browser

@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory):
    "The built site: $HIERLEARN_DOCS_DIR if set, else a fresh build in a temporary folder"
    prebuilt = os.environ.get("HIERLEARN_DOCS_DIR")
    if prebuilt:
        d = Path(prebuilt)
        if not (d / "index.html").exists():
            pytest.fail(f"HIERLEARN_DOCS_DIR={prebuilt} has no index.html; build it: python tools/build_docs.py --out {prebuilt}")
        return d
    out = tmp_path_factory.mktemp("docs")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        err = r.stderr[r.stderr.find("error:"):] if "error:" in r.stderr else r.stderr[-5000:]
        pytest.fail(f"tools/build_docs.py failed ({r.returncode}):\n{r.stdout[-2000:]}\n{err}", pytrace=False)
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope="module")
def site_url(docs_dir):
    "The site served over HTTP on 127.0.0.1 (loopback only)"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(docs_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown(); server.server_close()


def _no_browser(reason):
    if os.environ.get("HIERLEARN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (HIERLEARN_REQUIRE_BROWSER=1)")
    pytest.skip(f"{reason}; install them with `apt-get install chromium chromium-driver`")


@pytest.fixture(scope="module")
def browser():
    "Headless Debian chromium through /usr/bin/chromedriver (selenium-manager never runs)"
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing: _no_browser(f"no headless browser: {', '.join(missing)} missing")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError: _no_browser("selenium is not installed")
    profile = tempfile.mkdtemp(prefix="hierlearn-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--no-first-run", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try: yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _nav_links(driver):
    "[(path relative to the site root, text)] of the links in the page's navigation, in document order"
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('nav a[href]')).map(a => [a.href, a.textContent.trim()]);""")


def _site_path(url, site_url):
    u = url.split("#")[0].split("?")[0]
    return u[len(site_url):] if u.startswith(site_url) else None


# --------------------------------------------------------------------------------------------
# The build, checked on its files

def test_every_existing_chapter_has_a_page(docs_dir):
    missing = [f"{nb} -> {page_of(nb)}" for _, nb in book() if not (docs_dir / page_of(nb)).exists()]
    assert not missing, f"pages missing in {docs_dir}: {missing}"
    assert (docs_dir / "index.html").exists()


def _pages(docs_dir): return {p.relative_to(docs_dir).as_posix(): p.read_text(encoding="utf-8") for p in docs_dir.rglob("*.html")}


def test_pages_use_no_network_resources(docs_dir):
    "The machine is offline: no CDN scripts, stylesheets or images"
    pat = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)
    bad = {name: pat.findall(text)[:3] for name, text in _pages(docs_dir).items() if pat.search(text)}
    assert not bad, f"pages load network resources: {bad}"


def test_notebook_links_point_at_pages(docs_dir):
    bad = {name: re.findall(r'href="([^"]*\.ipynb(?:#[^"]*)?)"', text)
           for name, text in _pages(docs_dir).items() if re.search(r'href="(?![a-z]+:)[^"]*\.ipynb', text)}
    assert not bad, f"links to .ipynb files left in: {bad}"


def test_local_links_and_anchors_resolve(docs_dir):
    """Links between pages land on a page and a heading that exist: `foo.ipynb` links became nbdev's page
    names, and headings carry the ids nbdev's API links (`page.html#name`) and Quarto use"""
    pages = _pages(docs_dir)
    ids = {name: set(re.findall(r'\bid="([^"]+)"', text)) for name, text in pages.items()}
    bad, future = [], []
    for name, text in pages.items():
        for url, inner in re.findall(r'<a\b[^>]*\bhref="([^"]+)"[^>]*>(.*?)</a>', text, re.DOTALL):
            url = html.unescape(url)
            if _URL.match(url) or url.startswith("//"): continue
            path, _, frag = url.partition("#")
            if path.startswith("/"): target = path.lstrip("/")  # (MkDocs' 404.html links from the site root)
            else: target = posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) if path else name
            if target not in pages:
                # a chapter not written yet is fine; a link that missed the page of an existing notebook is not
                if re.match(r"^\d+[a-zA-Z0-9]*_", Path(target).name) or target.endswith(".ipynb"): bad.append(f"{name}: {url}")
                else: future.append(f"{name}: {url}")
            elif frag and frag not in ids[target]:
                # nbdev links every backticked name it knows, private ones too, but documents only public ones
                if re.fullmatch(r"\s*<code>_[\w.]*</code>\s*", inner): continue
                bad.append(f"{name}: {url} (no such anchor)")
    if future: warnings.warn("links to pages not written yet: " + ", ".join(future))
    assert not bad, "broken links:\n" + "\n".join(bad[:20])


def _code_blocks(text):
    "The text of the rendered code inputs of a page (mkdocs-jupyter's JupyterLab markup)"
    blocks = re.findall(r'<div class="[^"]*\bjp-InputArea-editor\b.*?<pre\b[^>]*>(.*?)</pre>', text, re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", "", b)).strip() for b in blocks]


def test_hidden_cells_and_directives_do_not_show(docs_dir):
    "nbdev's processing is respected: `#| hide` cells are gone and no `#|` directive is shown"
    for _, nb in book():
        text = (docs_dir / page_of(nb)).read_text(encoding="utf-8")
        blocks = _code_blocks(text)
        assert blocks or nb == "index.ipynb", f"{page_of(nb)}: no code cell found (has the page markup changed?)"
        shown = [b for b in blocks if re.search(r"^\s*#\s*\|", b, re.MULTILINE)]
        assert not shown, f"{page_of(nb)} shows cell directives: {shown[:2]}"
        for c in nbformat.read(NBS / nb, as_version=4).cells:
            if c.cell_type != "code" or not re.search(r"^\s*#\s*\|\s*hide\s*$", c.source, re.MULTILINE): continue
            code = "\n".join(l for l in c.source.splitlines() if not re.match(r"^\s*#\s*\|", l)).strip()
            assert not code or code not in blocks, f"{page_of(nb)} shows a `#| hide` cell:\n{code[:200]}"


# --------------------------------------------------------------------------------------------
# The site, checked in the browser

def test_home_page_links_the_chapters_in_book_order(browser, site_url):
    browser.get(site_url + "index.html")
    assert browser.execute_script("return document.readyState") == "complete"
    expected = [page_of(nb) for _, nb in book() if nb != "index.ipynb"]
    assert expected, "_quarto.yml lists no chapter that exists in nbs/"
    seen = []
    for url, _ in _nav_links(browser):
        p = _site_path(url, site_url)
        if p in expected and p not in seen: seen.append(p)
    assert seen == expected, f"home page's navigation links {seen}, _quarto.yml's book order is {expected}"
    nav_text = browser.execute_script("return Array.from(document.querySelectorAll('nav')).map(n => n.innerText).join('\\n')")
    parts = list(dict.fromkeys(part for part, nb in book() if part and nb != "index.ipynb"))
    pos = [nav_text.find(p) for p in parts]
    assert all(i >= 0 for i in pos) and pos == sorted(pos), f"parts {parts} not all shown in order in:\n{nav_text}"
    for _, nb in book():
        if nb == "index.ipynb": continue
        link = browser.find_element("css selector", f'nav a[href$="{page_of(nb).split("/")[-1]}"]')
        assert link.is_displayed(), f"the link to {page_of(nb)} is not visible"


def test_chapter_page_from_home_shows_its_plot_and_title(browser, site_url):
    from selenium.webdriver.support.ui import WebDriverWait
    nb = chapter_with_plot()
    if nb is None: pytest.skip(f"no {PREFERRED_CHAPTER} and no chapter with a saved plot in nbs/ yet")
    assert has_plot(nb), f"nbs/{nb} has no saved plot output (run it and keep its outputs)"
    page, title = page_of(nb), nb_title(nb)
    browser.get(site_url + "index.html")
    link = browser.find_element("css selector", f'nav a[href$="{page.split("/")[-1]}"]')
    link.click()
    WebDriverWait(browser, 30).until(lambda d: _site_path(d.current_url, site_url) == page
                                     and d.execute_script("return document.readyState") == "complete")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return Array.from(document.images).every(i => i.complete)"))
    images = browser.execute_script("""return Array.from(document.images).map(i =>
        ({src: i.currentSrc.slice(0, 40), complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))""")
    rendered = [i for i in images if i["complete"] and i["w"] > 0 and i["h"] > 0]
    assert rendered, f"{page}: no image rendered; images: {images}"
    broken = [i for i in images if i["complete"] and i["w"] == 0]
    assert not broken, f"{page}: broken images: {broken}"
    assert browser.title.startswith(title), f"{page}: page title {browser.title!r}, chapter title {title!r}"
    h1 = browser.find_element("css selector", "h1").text.strip()
    assert h1 == title, f"{page}: first heading {h1!r}, chapter title {title!r}"


# Every element of the page's text column either fits in it or sits in a box of its own that scrolls
# sideways (overflow-x: auto or scroll, holding no h1/h2, so not the whole page or notebook); an element
# cut off by an `overflow: hidden` box on the way counts as overflowing. The page is never wider than the window.
_OVERFLOW_JS = """
const col = document.querySelector('article') || document.querySelector('main') || document.body;
const box = col.getBoundingClientRect(), right = box.right + 1, left = box.left - 1;
const bad = [];
for (const el of col.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
  // a box may fit while its content spills out of it (a long line in a <pre>): measure the content
  const spill = getComputedStyle(el).overflowX === 'visible' ? r.left + el.scrollWidth : r.right;
  if (Math.max(r.right, spill) <= right && r.left >= left) continue;
  let p = el.parentElement, ok = false;
  for (; p && p !== col; p = p.parentElement) {
    const ox = getComputedStyle(p).overflowX;
    if (/auto|scroll/.test(ox) && !p.querySelector('h1, h2')) { ok = true; break; }
    if (/hidden|clip/.test(ox)) break;
  }
  if (ok) continue;
  // report the innermost box (a text span's overflow shows as its block's spill)
  if (getComputedStyle(el).display.startsWith('inline') && !/^(IMG|SVG|TABLE|CANVAS|VIDEO|IFRAME)$/i.test(el.tagName)) continue;
  const outer = bad.findIndex(b => b.el.contains(el));
  if (outer >= 0) bad.splice(outer, 1);
  const heading = [...col.querySelectorAll('h1, h2, h3')].filter(h => h.compareDocumentPosition(el) & 4).pop();
  bad.push({el, tag: el.tagName.toLowerCase(), cls: String(el.getAttribute('class') || '').slice(0, 50),
            width: Math.round(Math.max(r.width, spill - r.left)), overshoot: Math.round(Math.max(Math.max(r.right, spill) - right, left - r.left)),
            under: heading ? heading.textContent.replace('¶', '').trim().slice(0, 50) : '',
            text: (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 50)});
  if (bad.length >= 50) break;
}
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        colWidth: Math.round(box.width), bad: bad.map(({el, ...b}) => b)};
"""


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory):
    "Where the per-chapter screenshots go: $HIERLEARN_DOCS_SCREENSHOTS if set, else a temporary folder"
    d = os.environ.get("HIERLEARN_DOCS_SCREENSHOTS")
    if d: Path(d).mkdir(parents=True, exist_ok=True)
    return Path(d) if d else tmp_path_factory.mktemp("screenshots")


def _overflow(browser):
    return browser.execute_script(_OVERFLOW_JS)


def test_overflow_check_sees_a_wide_line(browser, site_url):
    "The check below is not blind: a long unbroken line in a <pre> that does not scroll is reported"
    browser.set_window_size(1280, 1000)
    browser.get(site_url + "index.html")
    browser.execute_script("""const col = document.querySelector('article') || document.querySelector('main') || document.body;
        const pre = document.createElement('pre'); pre.style.overflow = 'visible'; pre.textContent = 'x'.repeat(500);
        col.appendChild(pre);""")
    r = _overflow(browser)
    assert r["colWidth"] > 300, r
    assert any(b["tag"] == "pre" and b["text"].startswith("xxx") for b in r["bad"]), r


LAPTOP, TABLET = 1280, 768
MIN_PX_PER_INCH = 96   # so that 9-pt text (the smallest the book allows) is at least 12 CSS px: 9/72 in × 96 px/in
FALLBACK_DPI = 100     # a PNG without a pHYs chunk: matplotlib's default figure.dpi, what the inline backend draws at
TEMP_PATHS = r"(?<![\w.~-])/(?:tmp|root|home|private/var)/"   # a temporary or home folder, not a URL's /home/

# What a reader sees on a page: the places where a temporary or home folder shows in the text, every table
# (does it fit, scroll in its own box, or is it cut off?) and every image with its shown and natural width.
_READER_JS = r"""
const col = document.querySelector('article') || document.querySelector('main') || document.body;
const box = col.getBoundingClientRect(), heads = [...col.querySelectorAll('h1, h2, h3')];
const under = el => { let h = ''; for (const x of heads) { if (x.compareDocumentPosition(el) & 4) h = x; else break; }
                      return h ? h.textContent.replace('¶', '').trim().slice(0, 50) : ''; };
const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const within = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1;
const paths = [], re = new RegExp(arguments[0], 'g');
const walk = document.createTreeWalker(col, NodeFilter.SHOW_TEXT);
for (let n = walk.nextNode(); n; n = walk.nextNode()) {
  const t = n.nodeValue;
  if (!t.includes('/') || !shown(n.parentElement)) continue;
  for (const m of t.matchAll(re))
    paths.push({under: under(n.parentElement), text: t.slice(Math.max(0, m.index - 30), m.index + 60).replace(/\s+/g, ' ').trim()});
}
const tables = [];
for (const t of col.querySelectorAll('table')) {
  const r = t.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  let how = null;
  for (let p = t.parentElement; p && p !== col.parentElement && !how; p = p.parentElement) {
    const ox = getComputedStyle(p).overflowX, pr = p.getBoundingClientRect();
    if (/auto|scroll/.test(ox)) how = within(pr, box) ? 'scrolls' : 'sits in a scrolling box wider than the text column';
    else if (/hidden|clip/.test(ox) && !within(r, pr)) how = 'cut off by a box that does not scroll';
  }
  how = how || (within(r, box) ? 'fits' : 'spills past the text column');
  tables.push({how, width: Math.round(r.width), under: under(t), text: t.innerText.trim().replace(/\s+/g, ' ').slice(0, 40)});
}
const figures = [];
for (const img of col.querySelectorAll('img')) {
  const r = img.getBoundingClientRect(), src = img.currentSrc || img.src;
  if (!img.naturalWidth || r.width === 0 || src.startsWith('data:image/svg')) continue;   // vector images scale with the page
  figures.push({src: src.startsWith('data:') ? src.slice(0, 6000) : src, shown: r.width, natural: img.naturalWidth,
                under: under(img), output: !!img.closest('.jp-OutputArea, .cell-output, .cell-output-display')});
}
return {paths, tables, figures, colWidth: Math.round(box.width)};
"""


def _visit(browser, site_url, page, screenshot_dir, width, reader=False):
    "Open `page` at `width`, wait for its images, save a screenshot; what the checks need from it"
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(site_url + page)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete)"))
    browser.save_screenshot(str(screenshot_dir / f"{Path(page).stem}-{width}.png"))
    r = {"overflow": _overflow(browser),
         "broken": browser.execute_script(
             "return Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 60))"),
         "remote": browser.execute_script("""return performance.getEntriesByType('resource').map(e => e.name)
             .filter(u => !u.startsWith(location.origin) && !u.startsWith('data:') && !u.startsWith('blob:'))""")}
    if reader: r |= browser.execute_script(_READER_JS, TEMP_PATHS)
    return r


@pytest.fixture(scope="module")
def visits(browser, site_url, screenshot_dir):
    "visits(width) -> {page: what `_visit` found}: every page of the book visited once per width (the reader's checks at 1280 px)"
    seen = {}
    def at(width):
        if width not in seen:
            browser.set_window_size(width, 1000)
            try: seen[width] = {page_of(nb): _visit(browser, site_url, page_of(nb), screenshot_dir, width, reader=width == LAPTOP)
                                for _, nb in book()}
            finally: browser.set_window_size(LAPTOP, 1000)
        return seen[width]
    return at


@pytest.mark.parametrize("width", [LAPTOP, TABLET])
def test_every_page_fits_the_window_and_loads_nothing_from_the_network(visits, screenshot_dir, width):
    """Every page of the book at a laptop's and a tablet's width: a screenshot each (in `screenshot_dir`),
    nothing wider than the window or than the text column unless it scrolls in its own box, no image
    broken, and nothing fetched from anywhere but the local server"""
    problems = []
    for page, v in visits(width).items():
        r = v["overflow"]
        if r["scrollWidth"] > r["innerWidth"]:
            problems.append(f"{page}: page {r['scrollWidth']} px wide in a {r['innerWidth']} px window")
        for b in r["bad"][:5]:
            problems.append(f"{page}: <{b['tag']} class={b['cls']!r}> {b['width']} px, {b['overshoot']} px past the "
                            f"{r['colWidth']} px text column, under {b['under']!r}: {b['text']!r}")
        if v["broken"]: problems.append(f"{page}: broken images {v['broken']}")
        if v["remote"]: problems.append(f"{page}: fetched from the network: {v['remote'][:3]}")
    assert not problems, f"(screenshots in {screenshot_dir})\n" + "\n".join(problems)


def test_no_temporary_or_home_folder_on_a_page(visits):
    "No page shows where a notebook happened to run: /tmp/..., /root/..., /home/..., /private/var/... (write to relative folders)"
    problems = [f"{page} under {p['under']!r}: {p['text']!r}" for page, v in visits(LAPTOP).items() for p in v["paths"]]
    assert not problems, f"{len(problems)} temporary or home folder(s) shown:\n" + "\n".join(problems)


def test_no_table_is_cut_off(visits):
    "Every table fits the text column or scrolls sideways in a box of its own that does; none is clipped or spills over"
    problems = [f"{page}: table under {t['under']!r}, {t['width']} px wide in a {v['colWidth']} px column, {t['how']}: {t['text']!r}"
                for page, v in visits(LAPTOP).items() for t in v["tables"] if t["how"] not in ("fits", "scrolls")]
    assert not problems, f"{len(problems)} table(s) cut off:\n" + "\n".join(problems)


def png_dpi(data: bytes) -> float | None:
    "Pixels per inch in a PNG's pHYs chunk (matplotlib writes the figure's dpi there); None when it has none"
    if not data.startswith(b"\x89PNG\r\n\x1a\n"): return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs" and pos + 17 <= len(data):
            per_unit, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            return round(per_unit * 0.0254, 1) if unit == 1 else None   # unit 1: per metre; 0 gives an aspect ratio only
        if kind == b"IDAT": return None   # pHYs comes before the pixels
        pos += 12 + length
    return None


def _image_head(src: str, docs_dir: Path, site_url: str) -> bytes:
    "The first bytes of an image: decoded from a data: URL, else read from the built site"
    if src.startswith("data:"):
        b64 = src.partition(",")[2]
        return base64.b64decode(b64[:len(b64) // 4 * 4])
    path = _site_path(src, site_url)
    return (docs_dir / path).read_bytes()[:4096] if path and (docs_dir / path).is_file() else b""


def test_png_dpi_reads_what_matplotlib_writes(tmp_path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(2, 1))
    for dpi in (100, 150):
        fig.savefig(tmp_path / f"{dpi}.png", dpi=dpi)
        assert png_dpi((tmp_path / f"{dpi}.png").read_bytes()) == dpi
    plt.close(fig)
    assert png_dpi(b"GIF89a") is None


def test_figure_text_is_large_enough(visits, docs_dir, site_url):
    """Every figure on a page is shown at >= 96 CSS px per figure inch, so that 9-pt text is >= 12 px: shown width ×
    the PNG's dpi (its pHYs chunk; 100, matplotlib's default, when it has none) / its width in pixels. A figure
    wider than about 6.5 inches is shrunk to the text column (about 650 px at 1280 px) and fails."""
    problems = []
    for page, v in visits(LAPTOP).items():
        for i, f in enumerate(v["figures"], 1):
            dpi = png_dpi(_image_head(f["src"], docs_dir, site_url)) or FALLBACK_DPI
            ppi = f["shown"] * dpi / f["natural"]
            if ppi < MIN_PX_PER_INCH:
                problems.append(f"{page}: {'output' if f['output'] else 'image'} {i} under {f['under']!r}: {f['natural']} px at "
                                f"{dpi:g} dpi ({f['natural'] / dpi:.1f} in) shown {f['shown']:.0f} px wide, {ppi:.0f} px per inch "
                                f"(9-pt text at {9 * ppi / 72:.1f} px)")
    assert not problems, f"{len(problems)} figure(s) drawn too small to read (make them at most 6.5 in wide):\n" + "\n".join(problems)


# --------------------------------------------------------------------------------------------
# The checks are not blind

def _reader(browser, site_url, setup_js):
    browser.set_window_size(LAPTOP, 1000)
    browser.get(site_url + "index.html")
    browser.execute_script("const col = document.querySelector('article') || document.querySelector('main') || document.body;" + setup_js)
    return browser.execute_script(_READER_JS, TEMP_PATHS)


def test_reader_checks_see_paths_cut_tables_and_small_figures(browser, site_url):
    "A temporary folder in an output, a wide table in a box that does not scroll, one spilling over and a shrunk figure are all seen"
    import matplotlib; matplotlib.use("Agg")
    import io, matplotlib.pyplot as plt
    fig, buf = plt.figure(figsize=(10, 2)), io.BytesIO()
    fig.savefig(buf, format="png", dpi=100); plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode()
    r = _reader(browser, site_url, f"""
        const pre = document.createElement('pre'); pre.textContent = 'wrote /tmp/tmpab12cd/results/x.csv, see https://example.org/home/';
        col.appendChild(pre);
        // a plain table 3000 px wide: the theme's own table style (MkDocs Material lets a table scroll in itself) is undone
        const wide = '<table style="display: table; width: 3000px; max-width: none; overflow: visible"><tr>' + '<td>xxxxxxxxxxxxxxxx</td>'.repeat(80) + '</tr></table>';
        const clip = document.createElement('div'); clip.style.overflow = 'hidden'; clip.innerHTML = wide; col.appendChild(clip);
        const spill = document.createElement('div'); spill.innerHTML = wide; col.appendChild(spill);
        const roll = document.createElement('div'); roll.style.overflowX = 'auto'; roll.innerHTML = wide; col.appendChild(roll);
        const img = document.createElement('img'); img.style.maxWidth = '100%'; img.src = 'data:image/png;base64,{png}'; col.appendChild(img);
        """)
    assert [p["text"] for p in r["paths"]] == ["wrote /tmp/tmpab12cd/results/x.csv, see https://example.org/home/"], r["paths"]
    hows = [t["how"] for t in r["tables"] if t["text"].startswith("xxx")]
    assert hows == ["cut off by a box that does not scroll", "spills past the text column", "scrolls"], r["tables"]
    [f] = [f for f in r["figures"] if f["natural"] == 1000]
    assert png_dpi(_image_head(f["src"], Path("."), site_url)) == 100 and f["shown"] * 100 / f["natural"] < MIN_PX_PER_INCH, f


# --------------------------------------------------------------------------------------------
# The figures' source: sizes and fonts as the notebooks and the library write them

MAX_FIG_WIDTH, MIN_FONT_PT = 6.5, 9   # inches (the text column at 100 dpi), points
SMALL_FONTS = {"xx-small", "x-small", "small"}
_FONT_KEY = re.compile(r"^(?:size|font\.size)$|fontsize$|labelsize$|titlesize$")   # fontsize, labelsize, title_fontsize, 'font.size', ...
_TEXT_CALLS = {"text", "annotate", "title", "suptitle", "set_title", "xlabel", "ylabel", "set_xlabel", "set_ylabel",
               "legend", "rc", "FontProperties", "tick_params", "set_xticklabels", "set_yticklabels", "table"}


def _number(node):
    "The value of a constant arithmetic expression (6.5, 2 * 3.25, -1), else None"
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool): return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and (v := _number(node.operand)) is not None:
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and None not in (a := _number(node.left), b := _number(node.right)):
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b if b else None}
        return ops[type(node.op)]() if type(node.op) in ops else None
    return None


def _too_small(node) -> str | None:
    "Why a font size given as `node` is too small, or None"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in SMALL_FONTS: return repr(node.value)
    v = _number(node)
    return f"{v:g} pt" if v is not None and v < MIN_FONT_PT else None


def figure_size_problems(source: str) -> list[tuple[int, str]]:
    "[(line, what)] for every font smaller than 9 pt and every figure wider than 6.5 in that `source` writes as constants"
    tree, out = ast.parse(source), []
    def font(key, node, line):
        if (why := _too_small(node)): out.append((line, f"{key}={why}"))
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            name = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for k in n.keywords:
                if k.arg is None: continue
                if k.arg == "figsize" and isinstance(k.value, (ast.Tuple, ast.List)) and k.value.elts:
                    if (w := _number(k.value.elts[0])) is not None and w > MAX_FIG_WIDTH: out.append((n.lineno, f"figsize width {w:g} in"))
                elif _FONT_KEY.search(k.arg) and (k.arg != "size" or name in _TEXT_CALLS): font(k.arg, k.value, n.lineno)
            if name == "set_size_inches" and n.args and (w := _number(n.args[0])) is not None and w > MAX_FIG_WIDTH:
                out.append((n.lineno, f"set_size_inches width {w:g} in"))
        elif isinstance(n, ast.Dict):   # rcParams.update({'font.size': 8}), prop={'size': 'small'}, fontdict={'fontsize': 7}
            for k, v in zip(n.keys, n.values):
                if isinstance(k, ast.Constant) and isinstance(k.value, str) and _FONT_KEY.search(k.value): font(k.value, v, n.lineno)
        elif isinstance(n, ast.Assign) and isinstance(t := n.targets[0], ast.Subscript):   # rcParams['font.size'] = 8
            if isinstance(t.slice, ast.Constant) and isinstance(t.slice.value, str) and "." in t.slice.value and _FONT_KEY.search(t.slice.value):
                font(t.slice.value, n.value, n.lineno)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):   # def plot(..., fontsize=7)
            args = n.args.posonlyargs + n.args.args
            for a, d in [*zip(args[len(args) - len(n.args.defaults):], n.args.defaults), *zip(n.args.kwonlyargs, n.args.kw_defaults)]:
                if d is not None and _FONT_KEY.search(a.arg) and a.arg != "size": font(a.arg, d, d.lineno)
    return sorted(set(out))


def _python_of_cell(source: str) -> str:
    "A code cell's source as Python: IPython's magics and shell escapes blanked (lines keep their numbers)"
    return "\n".join("" if re.match(r"\s*[%!]", l) else l for l in source.splitlines())


def test_figure_size_check_sees_small_fonts_and_wide_figures():
    src = """fig, ax = plt.subplots(1, 3, figsize=(13, 3.4))
ax.set_title('t', fontsize=7); ax.legend(fontsize='small'); ax.tick_params(labelsize=8)
plt.rcParams['font.size'] = 8; plt.rcParams.update({'legend.fontsize': 'x-small'})
ax.text(0, 0, 's', size=6); fig.set_size_inches(2 * 4, 3)
def plot(h, fontsize=7.5): pass
plt.figure(figsize=(6.5, 9)); ax.set_title('ok', fontsize=9); np.zeros(5).reshape(-1, 1); sample(size=5)
"""
    assert figure_size_problems(src) == [
        (1, "figsize width 13 in"), (2, "fontsize='small'"), (2, "fontsize=7 pt"), (2, "labelsize=8 pt"), (3, "font.size=8 pt"),
        (3, "legend.fontsize='x-small'"), (4, "set_size_inches width 8 in"), (4, "size=6 pt"), (5, "fontsize=7.5 pt")]


def test_figure_sizes_in_the_source():
    """No notebook in nbs/ and no module in hierlearn/ draws a figure wider than 6.5 in or writes a font smaller than
    9 pt ('small', 'x-small', 'xx-small' included), where the size is a constant; computed sizes are checked on the
    rendered pages (`test_figure_text_is_large_enough`)"""
    problems = []
    for nb in sorted(NBS.glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            if c["cell_type"] != "code": continue
            source = "".join(c["source"])
            try: found = figure_size_problems(_python_of_cell(source))
            except SyntaxError as e: found = [(e.lineno or 0, f"cannot be parsed: {e.msg}")]
            lines = source.splitlines()
            problems += [f"nbs/{nb.name} cell {i} line {n}: {what}: {lines[n - 1].strip()[:80] if 0 < n <= len(lines) else ''}"
                         for n, what in found]
    for py in sorted((ROOT / "hierlearn").rglob("*.py")):
        lines = py.read_text(encoding="utf-8").splitlines()
        problems += [f"{py.relative_to(ROOT)} line {n}: {what}: {lines[n - 1].strip()[:80]}"
                     for n, what in figure_size_problems("\n".join(lines))]
    assert not problems, (f"{len(problems)} figure(s) or font(s) sized for another page than the text column "
                          f"(figsize width <= {MAX_FIG_WIDTH} in, fonts >= {MIN_FONT_PT} pt):\n" + "\n".join(problems))
