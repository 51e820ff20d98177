"""Page weight: every book page within issue 9's budget.

A page's own HTML at most 1 MiB, and everything it makes the browser load
(HTML, CSS, JS, fonts, images, MathJax's late fonts) at most 2 MiB once
gzipped as a static host serves it. benchmarks/pages.py measures (it opens
each page in Chromium over HTTP and records every response); this prints its
table whatever the outcome and asserts the budget.
"""

from __future__ import annotations

import sys

from conftest import ROOT, SITE

sys.path.insert(0, str(ROOT / "benchmarks"))
from pages import HTML_BUDGET, TOTAL_GZIP_BUDGET, book_pages, measure, table


def test_every_page_is_within_the_weight_budget(browser, site_url, capsys):
    pages = book_pages(SITE)
    assert pages, "no page was built"
    weights = []
    for path in pages:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        weights.append(measure(context.new_page(), site_url, path))
        context.close()
    with capsys.disabled():
        print("\n" + table(weights))
    for w in weights:
        assert w.html > 0, f"{w.page}: its own HTML was not among the responses"
        assert w.html <= HTML_BUDGET, f"{w.page}: own HTML {w.html} bytes > {HTML_BUDGET}"
        assert w.gzipped <= TOTAL_GZIP_BUDGET, (
            f"{w.page}: {w.gzipped} bytes gzipped > {TOTAL_GZIP_BUDGET}"
        )
