"""The autograded assignments (`make assignments`, tools/assignments.py): generated with
otter-grader from the chapter notebooks and graded here offline, without Docker,
by ``otter run``.

- the reference solutions get full marks, in every chapter;
- the untouched stubs get zero;
- a plausible wrong answer loses exactly its question's points (each
  question's tests are its own: one wrong function costs nothing elsewhere);
- the hidden tests are in the autograder and nowhere in the student's folder.
"""

from __future__ import annotations

import csv
import importlib.util
import pathlib
import zipfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("assignments", ROOT / "tools/assignments.py")
assignments = importlib.util.module_from_spec(spec)
spec.loader.exec_module(assignments)
CHAPTERS = [p.stem for p in assignments.CHAPTERS]
POINTS = assignments.PUBLIC_POINTS + assignments.HIDDEN_POINTS

# (chapter, question, the line of its reference solution, the plausible mistake)
WRONG_ANSWERS = {
    "01_sliding_blocks": (
        2,
        "columns.append(block.reshape(N, C * kh * kw))",
        "columns.append(block.permute(0, 2, 3, 1).reshape(N, C * kh * kw))",
    ),  # a column ordered (i, j, c), channels last, instead of (c, i, j)
    "02_putting_blocks_back": (
        2,
        "out = out.index_add(2, where.reshape(-1), values)",
        "out = out.index_copy(2, where.reshape(-1), values)",
    ),  # overlapping blocks overwrite each other instead of adding up
    "03_convolution_as_matmul": (
        1,
        "cols = F.unfold(x, k, dilation, padding, stride)",
        "cols = F.unfold(x, k, padding, dilation, stride)",
    ),  # unfold's arguments in conv2d's order
    "04_transposed_convolution": (
        2,
        "w_conv = torch.rot90(weight, 2, dims=[2, 3]).transpose(0, 1)",
        "w_conv = weight.transpose(0, 1)",
    ),  # the kernel not rotated: the example
    "05_backward": (
        6,
        "dy = F.pad(grad_y, (pw, pw - ow, ph, ph - oh))",
        "dy = F.pad(grad_y, (pw, pw, ph, ph))",
    ),  # padding p after too, as the convolution's: one block too many once
    # output_padding reaches the stride (it may, below the dilation)
}


SEEDS = (424242, 7)  # the hidden tests' seeds for these tests (a build draws its own)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    assignments.write(out, hidden_seeds=SEEDS)
    return out


def _answer_cells(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def _grade_all(jobs):
    """Grade (chapter folder, submission) pairs two at a time with the tool's grader."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(
            pool.map(lambda job: assignments.grade(job[0], job[1], job[1].with_suffix("")), jobs)
        )


def _total(scores):
    return sum(t["score"] for t in scores.values()), sum(t["max_score"] for t in scores.values())


def test_one_question_per_exercise_each_with_a_public_and_a_hidden_test(built):
    for path in assignments.CHAPTERS:
        book = nbformat.read(path, as_version=4)
        count = sum(c.source.lstrip().startswith("```{exercise}") for c in book.cells)
        folder = built / path.stem
        student = nbformat.read(folder / "student" / path.name, as_version=4)
        reference = nbformat.read(folder / "autograder" / path.name, as_version=4)
        assert len(_answer_cells(student, "otter_answer_cell")) == count
        assert len(_answer_cells(reference, "otter_assign_solution_cell")) == count
        public = student.metadata["otter"]["tests"]
        assert sorted(public) == sorted(f"q{k}" for k in range(1, count + 1))
        for text in public.values():
            assert "hidden=False" in text and "hidden=True" not in text
        # the cell above grader.check_all() says what it runs: the public tests
        text = "".join(c.source for c in student.cells if c.cell_type == "markdown")
        assert assignments.CHECK_ALL_TEXT[1] in text and assignments.CHECK_ALL_TEXT[0] not in text
        # the questions' text is plain Markdown: no MyST role or directive is left
        for cell in student.cells:
            if cell.cell_type == "markdown":
                assert "{ref}" not in cell.source and "```{" not in cell.source
                assert ":label:" not in cell.source


def test_hidden_tests_are_only_in_the_autograder(built):
    hidden_call = f"seed={SEEDS[0]})"
    for name in CHAPTERS:
        folder = built / name
        for path in (folder / "student").rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                assert hidden_call not in text and "test_other_cases" not in text, path
        # ...and they are in the autograder zip (the check looks for something)
        (zip_path,) = (folder / "autograder").glob("*.zip")
        with zipfile.ZipFile(zip_path) as z:
            assert any(
                "test_other_cases" in z.read(n).decode(errors="replace") for n in z.namelist()
            )


def test_reference_solutions_get_full_marks_and_stubs_get_zero(built):
    jobs = []
    for name in CHAPTERS:
        folder = built / name
        for part in ("autograder", "student"):
            copy = folder / f"graded-{part}" / f"{name}.ipynb"
            copy.parent.mkdir()
            copy.write_text((folder / part / f"{name}.ipynb").read_text())
            jobs.append((folder, copy))
    results = _grade_all(jobs)
    for (_, copy), scores in zip(jobs, results):
        got, most = _total(scores)
        assert most == POINTS * len(scores) and len(scores) >= 4, (copy, scores)
        if "autograder" in copy.parent.name:
            assert got == most, (copy, {k: v["score"] for k, v in scores.items()})
        else:
            assert got == 0, (copy, {k: v["score"] for k, v in scores.items()})


def test_a_wrong_answer_loses_exactly_its_questions_points(built):
    jobs = []
    for name, (question, right, wrong) in WRONG_ANSWERS.items():
        folder = built / name
        nb = nbformat.read(folder / "autograder" / f"{name}.ipynb", as_version=4)
        cell = _answer_cells(nb, "otter_assign_solution_cell")[question - 1]
        assert cell.source.count(right) == 1, (name, question)
        cell.source = cell.source.replace(right, wrong)
        copy = folder / "graded-wrong" / f"{name}.ipynb"
        copy.parent.mkdir()
        nbformat.write(nb, copy)
        jobs.append((folder, copy))
    results = _grade_all(jobs)
    for (name, (question, _, _)), scores in zip(WRONG_ANSWERS.items(), results):
        got, most = _total(scores)
        lost = {
            k: v["max_score"] - v["score"] for k, v in scores.items() if v["score"] < v["max_score"]
        }
        assert lost == {f"q{question}": POINTS}, (name, lost)
        assert got == most - POINTS


def test_a_class_is_graded_into_one_csv(built, tmp_path):
    """tools/assignments.py --grade: every submission of a chapter, a row each."""
    name = CHAPTERS[2]
    folder = built / name
    subs = []
    for part in ("autograder", "student"):
        sub = tmp_path / f"{part}.ipynb"
        sub.write_text((folder / part / f"{name}.ipynb").read_text())
        subs.append(sub)
    rows = assignments.grade_class(folder, subs, tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open() as f:
        table = list(csv.DictReader(f))
    questions = [k for k in table[0] if k.startswith("q")]
    assert len(table) == 2 and len(questions) == len(rows[0]) - 3
    assert float(table[0]["total"]) == float(table[0]["out_of"]) == POINTS * len(questions)
    assert float(table[1]["total"]) == 0 and all(float(table[1][q]) == 0 for q in questions)


@pytest.mark.parametrize("path", assignments.CHAPTERS, ids=lambda p: p.stem)
def test_every_reference_solution_passes_its_checker_on_any_seed(path):
    """A build draws its hidden seeds: every checker's cases must hold on any seed for the
    book's own solutions (seed 2 once drew an output_padding that torch refuses)."""
    book = nbformat.read(path, as_version=4)
    env = {}
    # the setup holds the install cell's %pip magic (never run here: convlab is installed)
    setup = TransformerManager().transform_cell(assignments.setup_code(book))
    exec(setup, env)
    for ex in assignments.exercises_of(book):
        exec(ex["solution"], env)
        for seed in range(1, 13):
            report = eval(assignments.hidden_call(ex["call"], ex["checker"], seed), env)
            assert report, (ex["label"], seed, str(report))
