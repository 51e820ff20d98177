"""The PDF edition (`make pdf`, tools/pdf.py): the built site printed by Chromium
as one book: a contents page whose entries link to their pages, every chapter,
the PDF outline, the solutions in an appendix whose titles link back."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import ROOT, SITE

pypdf = pytest.importorskip("pypdf")
spec = importlib.util.spec_from_file_location("pdf_tool", ROOT / "tools" / "pdf.py")
pdf_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pdf_tool)


@pytest.fixture(scope="module")
def book(tmp_path_factory, browser):
    out = tmp_path_factory.mktemp("pdf") / "fold-and-unfold.pdf"
    done = pdf_tool.render(SITE, out, browser)
    return out, done


def test_the_pdf_holds_every_page_in_order_with_the_solutions_at_the_end(book):
    out, done = book
    reader = pypdf.PdfReader(out)
    assert 150 <= len(reader.pages) <= 600, len(reader.pages)
    text = [" ".join(p.extract_text().split()) for p in reader.pages]
    chapters = [
        "1. Sliding blocks:",
        "2. Putting blocks back:",
        "3. Convolution is a matrix multiplication",
        "4. Transposed convolution, four ways",
    ]
    # each chapter starts a page, in order, after the contents
    starts = [next(i for i, t in enumerate(text) if i > 0 and t.startswith(c)) for c in chapters]
    assert starts == sorted(starts) and starts[0] > 1
    appendix = next(i for i, t in enumerate(text) if t.startswith("Appendix: solutions"))
    assert appendix > starts[-1]
    assert done["solutions"] >= 20
    before, after = " ".join(text[:appendix]), " ".join(text[appendix:])
    assert "Solution to" not in before and after.count("Solution to") == done["solutions"]

    # the outline (bookmarks) has the chapters
    def titles(outline):
        for item in outline:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield " ".join(item.title.split())

    found = list(titles(reader.outline))
    assert all(any(t.startswith(c[:20]) for t in found) for c in chapters), found[:30]


def test_the_contents_page_links_to_every_page(book):
    out, _ = book
    reader = pypdf.PdfReader(out)
    links = 0
    for page in reader.pages[:3]:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") == "/Link" and ("/Dest" in annot or "/A" in annot):
                links += 1
    pages = sum(len(ps) for _, ps in pdf_tool.toc_pages(SITE))
    assert links >= pages, (links, pages)


def test_an_explorer_prints_its_first_frame_without_controls(page, site_url):
    """explorer.css hides the controls in print; the figure (first frame) stays."""
    page.goto(f"{site_url}/notebooks/01_sliding_blocks.html", wait_until="load")
    page.emulate_media(media="print")
    explorer = page.locator(".convlab-explorer").first
    assert explorer.locator(".cx-controls").first.is_hidden()
    assert explorer.locator("svg").first.is_visible()
    assert explorer.get_attribute("data-frame") in (None, "0")
