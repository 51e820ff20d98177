"""Print the whole book as one PDF with Debian's Chromium (`make pdf`).

Sphinx's single-page builder fails on sphinx-exercise's hidden solution nodes,
so the book is assembled from the built site instead: every page of
``_toc.yml``, in order, goes into one HTML document next to the site's pages
(``print/book.html``, with the site's styles and scripts), after a contents page
whose entries link to each page; links between pages become links inside the
document. In the browser, every solution moves to an appendix at the end (with a
link back to its exercise), MathJax typesets, and each explorer shows its first
frame (its controls are not printed, explorer.css), and every other dropdown (an
explorer question's answer, a quiz answer) prints open. Chromium prints it on A4
with page numbers and the PDF's outline (bookmarks) made from the headings.

    python tools/pdf.py                      # _build/html -> _build/pdf/fold-and-unfold.pdf
    python tools/pdf.py --site student/_build/html --out student/_build/pdf/fold-and-unfold.pdf

The student edition's site has no solution, so its PDF has no appendix.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import pathlib
import re
import threading

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTICLE = re.compile(r'<article class="bd-article">(.*?)</article>', re.S)
TITLE = re.compile(r"<h1>(.*?)<a", re.S)


def toc_pages(site: pathlib.Path) -> list[tuple[str, list[str]]]:
    """(part caption, page paths relative to the site) in reading order; only built pages."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = [("", [toc["root"] + ".html"])]

    def walk(entries):
        for entry in entries:
            yield entry["file"] + ".html"
            yield from walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        pages = [p for p in walk(part["chapters"]) if (site / p).exists()]
        if pages:
            out.append((part.get("caption", ""), pages))
    return out


def _anchor(page: str) -> str:
    return "page-" + re.sub(r"[^a-z0-9]+", "-", page.removesuffix(".html").lower())


def _local_links(body: str, page: str, pages: set[str]) -> str:
    """Links to another page of the book become links inside the document."""
    here = pathlib.PurePosixPath(page).parent

    def fix(match):
        target, fragment = match.group(1), match.group(2)
        resolved = pathlib.PurePosixPath(*(here / target).parts).as_posix()
        parts = []
        for part in resolved.split("/"):
            if part == "..":
                parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        resolved = "/".join(parts)
        if resolved not in pages:
            return match.group(0)
        return f'href="#{fragment or _anchor(resolved)}"'

    return re.sub(r'href="([^"#:]+\.html)(?:#([^"]*))?"', fix, body)


def assemble(site: pathlib.Path) -> pathlib.Path:
    """Write ``site/print/book.html``: contents, then every page, then the appendix."""
    parts = toc_pages(site)
    pages = {p for _, ps in parts for p in ps}
    template = (site / parts[0][1][0]).read_text()  # the root page: one folder deep
    contents, bodies = [], []
    for caption, ps in parts:
        items = []
        for page in ps:
            text = (site / page).read_text()
            body = ARTICLE.search(text).group(1)
            title = html.unescape(re.sub(r"<[^>]+>", "", TITLE.search(body).group(1))).strip()
            items.append(f'<li><a href="#{_anchor(page)}">{html.escape(title)}</a></li>')
            if not page.startswith("book/") and not page.startswith("notebooks/"):
                raise ValueError(f"{page}: the print page assumes pages one folder deep")
            bodies.append(
                f'<section class="print-page" id="{_anchor(page)}">'
                f"{_local_links(body, page, pages)}</section>"
            )
        head = f"<h2>{html.escape(caption)}</h2>" if caption else ""
        contents.append(f"{head}<ul>{''.join(items)}</ul>")
    book = (
        '<section class="print-page print-contents" id="print-contents">'
        '<div class="print-cover"><h1>Fold &amp; Unfold</h1><p>How PyTorch\'s <code>unfold</code> '
        "and <code>fold</code> work, why every convolution is a matrix multiplication, and how "
        "transposed convolution falls out of the same machinery.</p></div>"
        "<h1>Contents</h1>"
        + "".join(contents)
        + "</section>"
        + "".join(bodies)
        + '<section class="print-page" id="print-appendix"><h1>Appendix: solutions</h1>'
        "<p>The solution of every exercise, in the book's order. Each one's title links "
        "back to its exercise.</p></section>"
    )
    start = ARTICLE.search(template)
    out = template[: start.start(1)] + book + template[start.end(1) :]
    out = out.replace('<div id="jb-print-docs-body" class="onlyprint">', "<div hidden>", 1)
    target = site / "print" / "book.html"
    target.parent.mkdir(exist_ok=True)
    target.write_text(out)
    return target


# run in the page: move the solutions to the appendix, open them, mark the print
PREPARE = """
() => {
  const appendix = document.getElementById('print-appendix');
  const solutions = [...document.querySelectorAll('.print-page div.solution')];
  for (const solution of solutions) {
    solution.classList.remove('dropdown', 'toggle-hidden');
    solution.querySelectorAll('.toggle-hidden, .dropdown').forEach(
      e => e.classList.remove('toggle-hidden', 'dropdown'));
    solution.querySelectorAll('button.toggle-button').forEach(b => b.remove());
    appendix.appendChild(solution);
  }
  if (!solutions.length) appendix.remove();
  // every other dropdown (an explorer question's answer, a quiz answer) prints open
  for (const box of document.querySelectorAll('.print-page .admonition.dropdown')) {
    if (box.classList.contains('solution')) continue;
    box.classList.remove('dropdown', 'toggle-hidden');
    box.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    box.querySelectorAll('button.toggle-button').forEach(b => b.remove());
  }
  document.documentElement.classList.add('print-book');
  return solutions.length;
}
"""
STYLE = """
.print-page { break-before: page; }
.print-page.print-contents { break-before: auto; }
.print-book .bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.print-cover { text-align: center; margin: 3rem 0 2rem; }
.print-cover h1 { font-size: 2.6rem; }
.print-contents ul { list-style: none; padding-left: 0; }
.print-contents li { margin: 0.15rem 0; }
.print-book .bd-sidebar-primary, .print-book .bd-sidebar-secondary,
.print-book .bd-header, .print-book .bd-footer, .print-book .prev-next-area,
.print-book .bd-header-article, .print-book footer { display: none !important; }
.print-book #print-appendix div.solution > * { display: block !important; }
.print-book .admonition > * { display: block; }
.print-book table { break-inside: auto !important; }
.print-book h1, .print-book h2, .print-book h3 { break-after: avoid !important; }
"""


def render(site: pathlib.Path, out: pathlib.Path, browser=None) -> dict:
    """Print ``site``'s book to ``out``; returns what was printed (pages, solutions).

    ``browser``: a Playwright Chromium to print with (the browser tests pass theirs:
    Playwright's sync API cannot start twice in one thread); by default, Debian's."""
    page_path = assemble(site)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{page_path.relative_to(site).as_posix()}"
    try:
        if browser is not None:
            pdf, solutions = _print(browser, url)
        else:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                own = p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                try:
                    pdf, solutions = _print(own, url)
                finally:
                    own.close()
    finally:
        server.shutdown()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    return {"solutions": solutions, "bytes": len(pdf)}


def _print(browser, url: str) -> tuple[bytes, int]:
    context = browser.new_context(viewport={"width": 1000, "height": 1400})
    try:
        page = context.new_page()
        page.route(lambda u: not u.startswith("http://127.0.0.1"), lambda route: route.abort())
        page.goto(url, wait_until="load", timeout=120000)
        page.add_style_tag(content=STYLE)
        solutions = page.evaluate(PREPARE)
        page.wait_for_function(
            "() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)",
            timeout=60000,
        )
        page.evaluate("() => window.MathJax && MathJax.startup.promise")
        page.evaluate("() => document.fonts.ready")
        page.emulate_media(media="print")
        pdf = page.pdf(
            format="A4",
            print_background=True,
            outline=True,
            tagged=True,
            margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=(
                '<div style="font-size:8pt;width:100%;text-align:center;color:#333">'
                '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
            ),
        )
    finally:
        context.close()
    return pdf, solutions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=pathlib.Path, default=ROOT / "_build" / "html")
    parser.add_argument(
        "--out", type=pathlib.Path, default=ROOT / "_build" / "pdf" / "fold-and-unfold.pdf"
    )
    args = parser.parse_args()
    done = render(args.site, args.out)
    print(f"{args.out}: {done['bytes'] / 2**20:.1f} MiB, {done['solutions']} solutions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
