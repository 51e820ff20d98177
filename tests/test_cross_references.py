"""Every heading, figure, display equation and exercise has a label, the text
cites them by label, and every explorer asks the reader a question.

A typed "section 2.3" or "exercise 3" goes stale when a section moves; a
{ref} link cannot. A number is allowed only as the text of a {ref} link, and
then it must be the number of the heading it points to.
"""

import json
import re

import pytest
from claims_index import PAGES, page_markdown

TARGET = re.compile(r"^\(([A-Za-z0-9_:-]+)\)=\s*$")
HEADING = re.compile(r"^(#+)\s+(.*)$")
TYPED = re.compile(r"(?i)\b(sections?|exercises?|chapters?|figures?|fig\.|equations?|§)\s*\d")
REF_WITH_TEXT = re.compile(r"\{(?:ref|numref)\}`([^`<]*)<([^`>]+)>`")
NOTEBOOKS = [p for p in PAGES if p.suffix == ".ipynb"]


def _prose(text):
    """The text without code blocks, inline code and math (a number there is no reference)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "``", text)
    return re.sub(r"\$[^$\n]*\$", "", text)


def _headings():
    """label -> heading number ("2.3", "2") or "" for every heading target."""
    out = {}
    for path in PAGES:
        lines = page_markdown(path).splitlines()
        for i, line in enumerate(lines):
            m = TARGET.match(line)
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            h = HEADING.match(nxt)
            if m and h:
                num = re.match(r"(\d+(?:\.\d+)*)\.?\s", h.group(2))
                out[m.group(1)] = num.group(1) if num else ""
    return out


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_heading_has_a_label(path):
    lines = re.sub(r"```.*?```", "", page_markdown(path), flags=re.S).splitlines()
    missing = []
    for i, line in enumerate(lines):
        if HEADING.match(line):
            prev = next((x for x in reversed(lines[:i]) if x.strip()), "")
            if not TARGET.match(prev):
                missing.append(line)
    assert not missing, f"{path.name}: headings without a (label)= target: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_is_named_and_captioned(path):
    missing = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        html = "".join(
            "".join(o.get("data", {}).get("text/html", "")) for o in cell.get("outputs", [])
        )
        if 'class="convlab-figure"' in html:
            fig = cell["metadata"].get("mystnb", {}).get("figure", {})
            if not (fig.get("name", "").startswith("fig-") and fig.get("caption")):
                missing.append(i)
    assert not missing, f"{path.name}: figure cells without mystnb.figure name/caption: {missing}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_display_equation_is_labelled(path):
    text = page_markdown(path)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    unlabelled = [
        m.group(0)[:60]
        for m in re.finditer(r"\$\$.*?\$\$[ \t]*(\([A-Za-z0-9_:-]+\))?", text, flags=re.S)
        if not m.group(1)
    ]
    assert not unlabelled, f"{path.name}: display equations without (eq-...): {unlabelled}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_exercise_is_labelled(path):
    text = page_markdown(path)
    blocks = re.findall(r"```\{exercise\}[^\n]*\n(.*?)```", text, flags=re.S)
    assert all(":label: ex-" in b for b in blocks), f"{path.name}: an exercise without :label:"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_no_typed_cross_reference(path):
    prose = _prose(page_markdown(path))
    lines = [
        line
        for line in prose.splitlines()
        if not HEADING.match(line) and TYPED.search(REF_WITH_TEXT.sub("", line))
    ]
    assert not lines, (
        f"{path.name}: cite with {{ref}}/{{numref}}/{{eq}}, not a typed number: {lines}"
    )


def _figure_numbers():
    """label -> the number the site gives a figure: Jupyter Book numbers figures
    through the whole book, in the order of _toc.yml (a chapter's figures are code
    cells with mystnb figure metadata; a page's, {figure} directives with :name:)."""
    import pathlib

    import yaml

    root = pathlib.Path(__file__).resolve().parent.parent
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    names = []
    for name in files:
        path = next(root.glob(name + ".*"))
        if path.suffix == ".ipynb":
            for cell in json.loads(path.read_text())["cells"]:
                figure = cell.get("metadata", {}).get("mystnb", {}).get("figure")
                if figure:
                    names.append(figure["name"])
        names += re.findall(r"\{figure\}[^\n]*\n(?::[^\n]*\n)*?:name: (\S+)", path.read_text())
    return {name: str(i) for i, name in enumerate(names, 1)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_figure_reference_carries_its_number(path):
    """A chapter's figures are code cells that only the site numbers: in JupyterLab
    a bare {numref} to one shows its label. So a figure is cited as {ref}`Fig. N <label>`
    ({numref} refuses a title without %s, which JupyterLab would show as is), and
    test_a_number_in_a_link_is_the_number_of_its_target checks N. Every figure of
    the chapter is cited (chapter 5 has none: its pictures are its explorer)."""
    text = page_markdown(path)
    bare = re.findall(r"\{(?:numref|ref)\}`(fig-[\w-]+)`", text)
    assert bare == [], f"{path.name}: write {{ref}}`Fig. N <label>` for {sorted(set(bare))}"
    cited = set()
    for words, label in REF_WITH_TEXT.findall(text):
        if label.startswith("fig-"):
            assert re.fullmatch(r"Fig\. \d+", words.strip()), (path.name, words, label)
            cited.add(label)
    cells = json.loads(path.read_text())["cells"]
    own = {
        c["metadata"]["mystnb"]["figure"]["name"]
        for c in cells
        if c.get("metadata", {}).get("mystnb", {}).get("figure")
    }
    assert own <= cited, f"{path.name} never cites {sorted(own - cited)}"


def test_a_number_in_a_link_is_the_number_of_its_target():
    headings = {**_headings(), **_figure_numbers()}
    assert _figure_numbers(), "the figure numbering found no figure"
    wrong = []
    for path in PAGES:
        for text, label in REF_WITH_TEXT.findall(page_markdown(path)):
            m = TYPED.search(text)
            if not m or label not in headings:
                continue
            num = re.search(r"\d+(?:\.\d+)*", text[m.start() :]).group(0)
            if num != headings[label]:
                wrong.append(f"{path.name}: '{text.strip()}' -> {label} ({headings[label]})")
    assert not wrong, wrong


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_explorer_asks_a_question_with_its_answer_in_a_dropdown(path):
    cells = json.loads(path.read_text())["cells"]
    silent = []
    for i, cell in enumerate(cells):
        src = "".join(cell["source"])
        if cell["cell_type"] != "code" or not re.search(r"^widgets\.\w+\(", src, re.M):
            continue
        after = []
        for nxt in cells[i + 1 :]:
            s = "".join(nxt["source"])
            if nxt["cell_type"] == "markdown" and re.search(r"^#", s, re.M):
                after.append(s.split("\n#")[0])
                break
            after.append(s)
        if ":class: dropdown" not in "\n".join(after):
            silent.append(src.splitlines()[0])
    assert not silent, f"{path.name}: explorers without a question and dropdown answer: {silent}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_a_seed_is_named_with_a_link_to_its_question(path):
    """ "seed 001" means something only on the page of readers' questions: the
    text links there (headings excepted)."""
    prose = re.sub(r"```.*?```", "", page_markdown(path), flags=re.S)
    bare = [
        m.group(0)
        for line in prose.splitlines()
        if not HEADING.match(line)
        for m in re.finditer(r"(?<![`<])\b[Ss]eeds? \d{3}\b(?![^`]*>`)", line)
    ]
    assert not bare, f"{path.name}: write {{ref}}`seed NNN <seed-NNN>`: {bare}"


def test_every_seed_has_a_question_that_links_to_its_answers():
    page = page_markdown(next(p for p in PAGES if p.name == "questions.md"))
    for n in range(5):
        label = f"seed-{n:03d}"
        body = page.split(f"({label})=")[1].split("\n(")[0]
        assert len(re.findall(r"\{ref\}`sec-", body)) >= 2, label
        for path in NOTEBOOKS:
            if f"<{label}>" in page_markdown(path):
                break
        else:
            pytest.fail(f"no chapter links back to {label}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_link_to_another_page_has_words(path):
    """JupyterLab (jupyterlab-myst) renders one notebook at a time: a {ref} to a label
    of another page would show the bare label there, so it carries its own text."""
    text = page_markdown(path)
    local = set(re.findall(r"^\(([\w-]+)\)=", text, re.M))
    local |= set(re.findall(r":label: ([\w-]+)", text))
    bare = [label for label in re.findall(r"\{ref\}`([\w-]+)`", text) if label not in local]
    assert bare == [], f"{path.name}: give these links their words: {sorted(set(bare))}"
