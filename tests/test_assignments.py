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

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

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
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    assignments.write(out)
    return out


def _answer_cells(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def _grade(chapter_dir: pathlib.Path, submission: pathlib.Path) -> dict:
    """``otter run`` on one submission: the score of each question and the total."""
    (zip_path,) = (chapter_dir / "autograder").glob("*-autograder_*.zip")
    out = submission.parent / f"{submission.stem}-results"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "otter",
            "run",
            "-a",
            str(zip_path),
            "-o",
            str(out),
            str(submission),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # two gradings at once, one core each
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    scores = {t["name"]: t for t in results["tests"] if "max_score" in t}
    return scores


def _grade_all(jobs):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: _grade(*job), jobs))


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
        # the questions' text is plain Markdown: no MyST role or directive is left
        for cell in student.cells:
            if cell.cell_type == "markdown":
                assert "{ref}" not in cell.source and "```{" not in cell.source
                assert ":label:" not in cell.source


def test_hidden_tests_are_only_in_the_autograder(built):
    hidden_call = f"seed={assignments.HIDDEN_SEEDS[0]})"
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
