"""The student edition (`make student`, tools/student_edition.py): the chapter
notebooks without their solutions, each run top to bottom as a student first
would, every checker saying the work is not done yet."""

from __future__ import annotations

import importlib.util
import pathlib

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("student_edition", ROOT / "tools/student_edition.py")
student_edition = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student_edition)
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    student_edition.write(out)
    return out


def test_no_solution_and_nothing_else_lost(edition):
    assert student_edition.check(edition) == []
    for path in CHAPTERS:
        book = nbformat.read(path, as_version=4)
        student = nbformat.read(edition / "notebooks" / path.name, as_version=4)
        dropped = student_edition.solution_cells(book)
        assert dropped and student_edition.solution_cells(student) == []
        assert len(student.cells) == len(book.cells) - len(dropped)
        assert student_edition.solution_lines(book)  # the check looks for something
        # every other cell is kept, in order, with its source
        kept = [c.source for i, c in enumerate(book.cells) if i not in set(dropped)]
        assert [c.source for c in student.cells] == kept
        exercises = sum(c.source.lstrip().startswith("```{exercise}") for c in student.cells)
        assert exercises == sum(
            c.source.lstrip().startswith("```{solution-start}") for c in book.cells
        )


def test_a_solution_left_behind_is_reported(edition, tmp_path):
    path = CHAPTERS[0]
    book = nbformat.read(path, as_version=4)
    line = sorted(student_edition.solution_lines(book))[0]
    leaky = nbformat.read(edition / "notebooks" / path.name, as_version=4)
    leaky.cells.append(nbformat.v4.new_code_cell(line))
    (tmp_path / "notebooks").mkdir()
    for other in CHAPTERS:
        target = tmp_path / "notebooks" / other.name
        if other == path:
            nbformat.write(leaky, target)
        else:
            target.write_text((edition / "notebooks" / other.name).read_text())
    assert any("a solution line is there" in p for p in student_edition.check(tmp_path))


def test_unbalanced_solution_markers_are_an_error():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution-start} ex-a\n```")]
    with pytest.raises(ValueError, match="never ends"):
        student_edition.solution_cells(nb)
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution-end}\n```")]
    with pytest.raises(ValueError, match="never started"):
        student_edition.solution_cells(nb)


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_each_student_notebook_runs_and_every_checker_says_not_yet(edition, name):
    from nbclient import NotebookClient

    path = edition / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    verdicts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", (name, cell.source[:80], out.get("evalue"))
        if "exercises.check_" in cell.source:
            text = "".join(
                out.get("text", "") or out.get("data", {}).get("text/plain", "")
                for out in cell.outputs
            )
            verdicts.append(text.split(":")[0].strip("'\" \n"))
    assert verdicts and "PASSED" not in verdicts, (name, verdicts)
    # the stubs say NOT YET; the one stub that is buggy code on purpose says FAILED
    assert set(verdicts) <= {"NOT YET", "FAILED"}, (name, verdicts)
    assert verdicts.count("FAILED") <= 1


def test_the_student_site_has_the_exercises_and_no_solution(edition):
    """`make student`'s site: every exercise's title is on its page, no solution's
    title or code is, and the book says which edition it is."""
    import html
    import re

    site = student_edition.build_site(edition)
    for path in CHAPTERS:
        book = nbformat.read(path, as_version=4)
        page = (site / "notebooks" / path.with_suffix(".html").name).read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\u2019", "'")
        titles = [
            c.source.lstrip().splitlines()[0].removeprefix("```{exercise}").strip()
            for c in book.cells
            if c.cell_type == "markdown" and c.source.lstrip().startswith("```{exercise}")
        ]
        assert titles and all(t in text for t in titles), path.name
        assert "Solution to" not in text and 'class="solution' not in page
        lines = {line.strip() for line in text.splitlines()}
        leaked = [line for line in student_edition.solution_lines(book) if line in lines]
        assert leaked == [], (path.name, leaked[:3])
    assert (
        "student edition"
        in (site / "notebooks" / CHAPTERS[0].with_suffix(".html").name).read_text()
    )
    # the teachers' part (lesson plans, quiz answers) is not in the student site
    assert not (site / "book" / "teaching").exists()
    assert "teaching/" not in (site / "book" / "intro.html").read_text()
    assert (site / "book" / "cheatsheet.html").exists()  # the cheat sheet is the students' too
    # and its PDF (tools/pdf.py) has no solution and no appendix
    pypdf = pytest.importorskip("pypdf")
    pdf_spec = importlib.util.spec_from_file_location("pdf_tool", ROOT / "tools/pdf.py")
    pdf_tool = importlib.util.module_from_spec(pdf_spec)
    pdf_spec.loader.exec_module(pdf_tool)
    done = pdf_tool.render(site, edition / "student.pdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(edition / "student.pdf").pages)
    assert done["solutions"] == 0 and "Solution to" not in text
    assert "Appendix: solutions" not in text and "Putting blocks back" in text
