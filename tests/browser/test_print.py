"""Printing: the cheat sheet (book/cheatsheet.md) is one A4 page, whole.

Chromium prints the built page with its print styles (book/assets/convlab.css
gives the cheat sheet smaller type and no printed contents page); the PDF must
have exactly one page and hold every section and the four signatures."""

from __future__ import annotations

import re


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_the_cheat_sheet_prints_on_one_a4_page(page, site_url):
    page.goto(f"{site_url}/book/cheatsheet.html", wait_until="networkidle")
    page.wait_for_function("() => !window.MathJax || MathJax.startup?.promise", timeout=30000)
    page.evaluate("() => window.MathJax?.startup?.promise")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    assert _pdf_pages(pdf) == 1, f"{_pdf_pages(pdf)} pages"
    # what prints is the whole sheet: every heading and signature is laid out
    for text in ("Sizes", "Argument orders", "Recipes", "F.conv_transpose2d(input"):
        sheet = page.locator("section#cheat-sheet")
        assert sheet.get_by_text(text, exact=False).first.is_visible(), text
    box = page.evaluate(
        """() => { const s = document.querySelector('section#cheat-sheet');
                   const r = s.getBoundingClientRect();
                   return [r.width, document.documentElement.clientWidth]; }"""
    )
    assert box[0] <= box[1], f"the sheet is wider than the page: {box}"
