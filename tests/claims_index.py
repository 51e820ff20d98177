"""The book's general sentences and the tests that try to refute them.

Every test in ``tests/test_claims*.py`` quotes, in its docstring, the sentence
it holds and the label of the section that states it::

    def test_block_count_is_a_product():
        '''[sec-num-blocks]
        > The number of blocks is the product of the per-dimension counts.

        Tried over every size up to 16, kernel up to 5, ...
        '''

A quote is a label in square brackets on a line of its own, followed by one
or more lines starting with ``>``: together, word for word (whitespace
collapsed), a passage of the book's markdown under that label. A test may
hold several quotes. "Under that label" means between the ``(label)=`` target
and the next heading's target, so a quote names the most specific section.

``test_claims_quotes.py`` checks every quote against the book; run this file
to print the index (label, quote, test) as a Markdown table::

    .venv/bin/python tests/claims_index.py
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    p for p in (ROOT / "book").rglob("*.md") if not p.name.startswith("_")
)
CLAIM_FILES = sorted((ROOT / "tests").glob("test_claims*.py"))

_TARGET = re.compile(r"^\(([A-Za-z0-9_:-]+)\)=\s*$")
_QUOTE = re.compile(r"^\[([A-Za-z0-9_:-]+)\]\s*\n((?:[ \t]*>.*(?:\n|$))+)", re.M)


def squash(text: str) -> str:
    """Collapse every run of whitespace to one space."""
    return " ".join(text.split())


def page_markdown(path: Path) -> str:
    """The markdown of one page: a ``.md`` file, or a notebook's markdown cells."""
    if path.suffix == ".md":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def notebook_text(name: str) -> str:
    """The markdown of the chapter notebook ``notebooks/<name>``."""
    return page_markdown(ROOT / "notebooks" / name)


def sections() -> dict[str, tuple[str, str]]:
    """Map each heading label to (page name, the text under it).

    The text runs from the label's ``(label)=`` target to the next target
    that stands before a heading (of any level).
    """
    found: dict[str, tuple[str, str]] = {}
    for path in PAGES:
        lines = page_markdown(path).splitlines()
        starts = []
        for i, line in enumerate(lines):
            m = _TARGET.match(line)
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            if m and nxt.startswith("#"):
                starts.append((i, m.group(1)))
        for j, (i, label) in enumerate(starts):
            end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
            if label in found:
                raise ValueError(f"label {label!r} is defined twice")
            found[label] = (path.name, "\n".join(lines[i + 1 : end]))
    return found


def quotes_of(docstring: str) -> list[tuple[str, str]]:
    """The (label, quote) pairs of one docstring."""
    text = "\n".join(line.strip() for line in (docstring or "").splitlines())
    out = []
    for m in _QUOTE.finditer(text):
        body = " ".join(line.strip()[1:] for line in m.group(2).splitlines())
        out.append((m.group(1), squash(body)))
    return out


def claims() -> list[tuple[str, str, str, str]]:
    """Every (file, test name, label, quote); a test without a quote gives
    label and quote ``""``."""
    out = []
    for path in CLAIM_FILES:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                pairs = quotes_of(ast.get_docstring(node) or "") or [("", "")]
                out.extend((path.name, node.name, label, quote) for label, quote in pairs)
    return out


def main() -> None:
    secs = sections()
    print("| section | page | sentence | test |")
    print("|---|---|---|---|")
    for file, test, label, quote in claims():
        page = secs.get(label, ("?", ""))[0]
        cell = quote.replace("|", "\\|")
        print(f"| `{label}` | {page} | {cell} | `{file}::{test}` |")


if __name__ == "__main__":
    main()
