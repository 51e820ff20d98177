"""Page weight: what each built page makes a reader's browser download.

Serves ``_build/html`` over HTTP on 127.0.0.1 (MathJax fetches its fonts and
TeX extensions at run time, so file:// would miss them), opens every page in
Chromium (Debian's, driven by Playwright), records every response, and gzips
each body with Python's gzip at level 6, as a static host compresses it.
Prints one row per page: its own HTML, everything it loaded (raw and
gzipped) and the number of requests. The budget (issue 9): a page's own HTML
at most 1 MiB, everything it loads at most 2 MiB gzipped;
tests/browser/test_a11y.py asserts it.

    python benchmarks/pages.py [--site _build/html] [--files]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.server
import os
import pathlib
import threading
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HTML_BUDGET = 1 << 20  # bytes of a page's own HTML
TOTAL_GZIP_BUDGET = 2 << 20  # bytes of everything it loads, gzipped


def book_pages(site: pathlib.Path = SITE) -> list[str]:
    """The pages a reader reads: every HTML file but Sphinx's own stubs.

    index.html only redirects to book/intro.html; genindex.html is empty (the
    book has no index entries).
    """
    return sorted(
        str(p.relative_to(site))
        for p in site.rglob("*.html")
        if "_static" not in p.parts
        and "_sources" not in p.parts
        and p.name not in ("index.html", "genindex.html")
    )


@dataclass
class Weight:
    page: str
    html: int = 0
    raw: int = 0
    gzipped: int = 0
    files: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.files)


def gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6, mtime=0))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(site: pathlib.Path):
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def measure(browser_page, base: str, path: str) -> Weight:
    """Open ``path`` in a fresh page (no cache) and add up what it loaded."""
    weight = Weight(path)
    responses = []
    browser_page.on("response", lambda r: responses.append(r))
    browser_page.goto(f"{base}/{path}", wait_until="load")
    browser_page.wait_for_load_state("networkidle")
    browser_page.wait_for_timeout(300)  # MathJax's late font requests
    for response in responses:
        url = response.url.split("?")[0].split("#")[0]
        if not url.startswith(base) or url in weight.files:
            continue
        try:
            body = response.body()
        except Exception:  # a redirect has no body
            continue
        weight.files[url[len(base) + 1 :]] = (len(body), gzip_size(body))
    for name, (raw, gz) in weight.files.items():
        weight.raw += raw
        weight.gzipped += gz
        if name == path:
            weight.html = raw
    return weight


def measure_site(site: pathlib.Path = SITE, pages: list[str] | None = None) -> list[Weight]:
    from playwright.sync_api import sync_playwright

    pages = book_pages(site) if pages is None else pages
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        weights = []
        for path in pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            weights.append(measure(context.new_page(), base, path))
            context.close()
        browser.close()
    return weights


def table(weights: list[Weight]) -> str:
    kib = 1024
    rows = [
        f"| {'page':<40} | own HTML KiB | total KiB raw | total KiB gzip | requests |",
        f"|{'-' * 42}|--------------|---------------|----------------|----------|",
    ]
    for w in weights:
        rows.append(
            f"| {w.page:<40} | {w.html / kib:12.1f} | {w.raw / kib:13.1f} "
            f"| {w.gzipped / kib:14.1f} | {w.requests:8d} |"
        )
    rows.append(
        f"budget: own HTML <= {HTML_BUDGET / kib:.0f} KiB, "
        f"everything gzipped <= {TOTAL_GZIP_BUDGET / kib:.0f} KiB"
    )
    return "\n".join(rows)


def files_table(weight: Weight) -> str:
    rows = [f"{weight.page}: every file, largest gzipped first (KiB raw, KiB gzip)"]
    for name, (raw, gz) in sorted(weight.files.items(), key=lambda kv: -kv[1][1]):
        rows.append(f"  {raw / 1024:9.1f} {gz / 1024:9.1f}  {name}")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=pathlib.Path, default=SITE)
    parser.add_argument("--files", action="store_true", help="list the files of the heaviest page")
    args = parser.parse_args()
    if not (args.site / "book" / "intro.html").exists():
        raise SystemExit(f"{args.site} has no book: run `make site` first")
    weights = measure_site(args.site)
    print(table(weights))
    if args.files:
        print(files_table(max(weights, key=lambda w: w.gzipped)))


if __name__ == "__main__":
    main()
