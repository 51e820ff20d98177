"""The ``{claims-index}`` directive: every general sentence of the book and its test.

``tests/claims_index.py`` reads, from the docstrings of ``tests/test_claims*.py``,
each quoted sentence with the label of the section that states it (the format
is in CONTRIBUTING.md, "Stating a rule: the claims tests"). This directive
lays them out on ``book/claims.md``, page by page and section by section: a
link to the section, the sentence, and the test that tries to refute it. The
list is made from the tests when the site is built, so it cannot drift from
them, and ``tests/test_quotes_of_claims.py`` checks that each sentence still
stands under its label.

A quote is a piece of the page's MyST source, possibly cut mid-sentence, so
it is not parsed as MyST again: inline ``$math$`` and ``code`` become math
and literal nodes, a role such as ``{ref}`words <label>``` shows its words,
and anything else stays plain text.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

ROOT = pathlib.Path(__file__).resolve().parents[2]
# a role's words ({ref}`words <label>`, {eq}`label`), code, math ($ or $$, shown
# inline), bold, italics
_INLINE = re.compile(
    r"\{[a-z:]+\}`([^`<]*?)\s*(?:<[^`>]*>)?`|``?([^`]+)``?|\$\$?([^$]+)\$?\$"
    r"|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*"
)


def _claims_module():
    spec = importlib.util.spec_from_file_location("claims_index", ROOT / "tests/claims_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inline(text: str) -> list[nodes.Node]:
    """The nodes of one quote: math, code, emphasis and a role's words; the rest as text."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(nodes.Text(text[pos : m.start()]))
        words, code, math, bold, italic = m.groups()
        if bold is not None:
            out.append(nodes.strong(bold, bold))
        elif italic is not None:
            out.append(nodes.emphasis(italic, italic))
        elif math is not None:
            out.append(nodes.math(math, math))
        elif code is not None:
            out.append(nodes.literal(code, code))
        else:
            out.append(nodes.Text(words))
        pos = m.end()
    out.append(nodes.Text(text[pos:]))
    return out


def body(text: str) -> nodes.Element:
    """One quote as a block: the inside of a display equation is shown as one."""
    if "$" not in text and "`" not in text and re.search(r"\\[a-zA-Z]+", text):
        return nodes.math_block(text, text, nowrap=False, number=None)
    sentence = nodes.paragraph()
    sentence += inline(text)
    return sentence


def ref(label: str, words: str | None = None) -> addnodes.pending_xref:
    """A link to a label: with ``words`` as its text, or else the target's title
    (also used by api_page.py)."""
    xref = addnodes.pending_xref(
        "",
        refdomain="std",
        reftype="ref",
        reftarget=label,
        refexplicit=words is not None,
        refwarn=True,
    )
    text = label if words is None else words
    xref += nodes.inline(text, text)
    return xref


class ClaimsIndex(SphinxDirective):
    """Expand to the list of every claim, grouped by page and by section."""

    def run(self) -> list[nodes.Node]:
        module = _claims_module()
        for path in [*module.CLAIM_FILES, *module.PAGES, ROOT / "tests/claims_index.py"]:
            self.env.note_dependency(str(path))
        sections = module.sections()
        order = list(sections)  # labels in page order, sections in reading order
        by_label: dict[str, list[tuple[str, str, str]]] = {}
        for file, test, label, quote in module.claims():
            if label not in sections:  # test_quotes_of_claims.py reports it
                continue
            by_label.setdefault(label, []).append((quote, file, test))
        total = sum(len(v) for v in by_label.values())
        tests = {(f, t) for v in by_label.values() for _, f, t in v}
        summary = nodes.paragraph()
        summary += nodes.Text(
            f"{total} sentences in {len(by_label)} sections, held by {len(tests)} tests."
        )
        out: list[nodes.Node] = [summary]
        page = None
        items = None
        for label in sorted(by_label, key=order.index):
            if sections[label][0] != page:
                page = sections[label][0]
                docname = ("notebooks/" if page.endswith(".ipynb") else "book/") + page.rsplit(
                    ".", 1
                )[0]
                title = nodes.rubric()
                doc = addnodes.pending_xref(
                    "",
                    refdomain="std",
                    reftype="doc",
                    reftarget="/" + docname,
                    refexplicit=False,
                    refwarn=True,
                )
                doc += nodes.inline(docname, docname)
                title += doc
                out.append(title)
                items = nodes.bullet_list(classes=["claims-index"])
                out.append(items)
            item = nodes.list_item()
            head = nodes.paragraph()
            head += ref(label)
            item += head
            # the quotes one test holds in a row share one "tested by" line
            runs: list[list] = []
            for quote, file, test in by_label[label]:
                if runs and runs[-1][0] == (file, test):
                    runs[-1][1].append(quote)
                else:
                    runs.append([(file, test), [quote]])
            for (file, test), quotes in runs:
                block = nodes.block_quote()
                for quote in quotes:
                    block += body(quote)
                held = nodes.paragraph(classes=["claims-test"])
                held += nodes.Text("tested by ")
                name = f"tests/{file}::{test}"
                held += nodes.literal(name, name)
                block += held
                item += block
            items += item
        return out


def setup(app):
    app.add_directive("claims-index", ClaimsIndex)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
