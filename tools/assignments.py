"""Write the autograded assignments of the chapters (`make assignments`), with otter-grader.

From the same notebooks as the book (one source of truth), for each
``notebooks/NN_*.ipynb`` it writes an otter-grader master notebook, then runs
``otter assign`` on it:

    <out>/NN_slug/NN_slug.ipynb             the master (otter's format)
    <out>/NN_slug/student/NN_slug.ipynb     what a student gets
    <out>/NN_slug/autograder/NN_slug.ipynb  the reference solutions
    <out>/NN_slug/autograder/NN_slug-autograder_*.zip   what grades

Each exercise of the chapter is one question, in the chapter's order:

- its text, the MyST of the book turned into plain Markdown (a reference to a
  section becomes the section's title, one to an exercise of the same chapter
  "Question k");
- the exercise's stub as the prompt (what the student sees, with the book's
  checker call under it) and its solution as the answer (the ``_solution``
  suffix dropped: it defines the stub's name);
- a public test, 1 point: the book's checker, the same cases as in the book
  (``grader.check`` runs it; its message is the checker's report);
- a hidden test, 2 points: the same checker on two other seeds, drawn when the
  assignments are built, with twice the cases each, which reach the rarer
  combinations of parameters. Hidden tests exist only in the autograder zip and
  the master notebook, never in the student notebook.

A question is worth 3 points. Grade submissions offline, without Docker, into
one CSV (``otter run`` on each, two at a time)::

    python tools/assignments.py assignments/NN_slug --grade SUBMISSIONS.ipynb... --csv grades.csv

Two stubs of chapter 4 call the student's ``tconv_stride1`` of the first
exercise (question 1): if that one fails, they fail too, and their text says so.

    python tools/assignments.py [OUT]        # default: assignments/
    python tools/assignments.py --master-only [OUT]
    python tools/assignments.py OUT/NN_slug --grade SUBMISSION... [--csv grades.csv]
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION_START = "```{solution-start}"
SOLUTION_END = "```{solution-end}"
PUBLIC_POINTS, HIDDEN_POINTS = 1, 2
HIDDEN_SEED_COUNT = 2  # drawn when the assignments are built; the book's checkers use seed 0
CHECK_ALL_TEXT = (  # otter's text above grader.check_all(), and what it really does
    "To double-check your work, the cell below will rerun all of the autograder tests.",
    "To double-check your work, the cell below reruns every public test. The hidden "
    "tests run only when your work is graded.",
)
HIDDEN_FACTOR = 2  # each hidden seed runs twice the checker's default number of cases
SOLUTION_HEADER = "# a solution (try your own first)"


def _starts(cell, marker: str) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(marker)


def labels(nb) -> dict[str, str]:
    """What a reference to each label of a chapter reads as in plain Markdown: a
    numbered section as ``section 4.9, “No zeros: ...”``, an unnumbered one as
    ``“Strides: ...” in section 1.5``, an equation by its section, an exercise by its title."""
    found, numbered, current = {}, "", ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            heading = re.match(r"#+\s+(\d+\.\d+)?\s*(.*)", line)
            if heading and line.startswith("##"):
                number, title = heading.groups()
                if number:
                    numbered = number
                    current = f"section {number}, “{title.strip()}”"
                else:
                    current = f"“{title.strip()}” in section {numbered}"
            target = re.fullmatch(r"\((\S+)\)=", line.strip())
            if target and i + 1 < len(lines) and lines[i + 1].startswith("##"):
                number, title = re.match(r"#+\s+(\d+\.\d+)?\s*(.*)", lines[i + 1]).groups()
                found[target.group(1)] = (
                    f"section {number}, “{title.strip()}”"
                    if number
                    else f"“{title.strip()}” in section {numbered}"
                )
            equation = re.search(r"\$\$\s*\((eq-[\w-]+)\)\s*$", line)
            if equation:
                found[equation.group(1)] = f"the equation of {current}"
        exercise = re.match(r"```\{exercise\}\s*(.*)\n:label: (\S+)", cell.source)
        if exercise:
            found[exercise.group(2)] = f"the exercise “{exercise.group(1).strip()}”"
    return found


def plain_markdown(text: str, names: dict[str, str]) -> str:
    """The book's MyST roles as plain Markdown: ``{ref}`words <label>``` gives the words,
    ``{ref}`label``` (and ``{eq}``, ``{numref}``) what ``names`` says the label is."""

    def role(match):
        body = match.group(2)
        explicit = re.fullmatch(r"(.*\S)\s*<([^>]+)>", body, re.S)
        if explicit:
            return f"“{explicit.group(1)}”"
        if body not in names:
            raise KeyError(f"no title known for the label {body!r}")
        words = names[body]
        before = text[: match.start()].rstrip(" (")
        if not before or before.endswith((".", "\n\n")):  # a sentence starts with it
            words = words[0].upper() + words[1:]
        return words

    return re.sub(r"\{(ref|eq|numref)\}`([^`]+)`", role, text)


def _own_names(code: str) -> str:
    """The names of the book's solutions as the stubs spell them: ``unfold_loops_solution``
    becomes ``unfold_loops``, ``FixedConv2dSolution`` becomes ``FixedConv2d``."""
    return re.sub(r"\b(\w+?)(_solution|Solution)\b", r"\1", code)


def _solution_code(cells) -> str:
    """A solution's code, without its first line and without the checker call that
    ends it, the ``_solution`` suffix dropped from every name."""
    code = [c for c in cells if c.cell_type == "code"]
    if len(code) != 1:
        raise ValueError(f"a solution has {len(code)} code cells, expected 1")
    lines = code[0].source.splitlines()
    if lines[0] != SOLUTION_HEADER:
        raise ValueError(f"a solution starts with {lines[0]!r}, not {SOLUTION_HEADER!r}")
    body = "\n".join(lines[1:])
    body = re.sub(r"\n*exercises\.check_\w+\(.*\)\s*$", "", body, flags=re.S)
    return _own_names(body).strip("\n")


def _split_stub(source: str) -> tuple[str, str, str]:
    """A stub cell: (its code, its checker call, the checker's name)."""
    match = re.search(r"\n*(exercises\.(check_\w+)\((.*)\))\s*$", source, re.S)
    if not match:
        raise ValueError(f"a stub does not end with a checker call:\n{source}")
    code = source[: match.start()].rstrip("\n")
    return _own_names(code), match.group(1), match.group(2)


def exercises_of(nb) -> list[dict]:
    """Every exercise of a chapter: label, title, text, stub code, checker call, solution."""
    found = []
    cells = nb.cells
    i = 0
    while i < len(cells):
        head = re.match(
            r"```\{exercise\}\s*(.*)\n:label: (\S+)\n(.*)```\s*$", cells[i].source, re.S
        )
        if not head:
            i += 1
            continue
        stub = cells[i + 1]
        if stub.cell_type != "code" or not _starts(cells[i + 2], SOLUTION_START):
            raise ValueError(f"{head.group(2)}: expected one stub cell, then the solution")
        end = next(j for j in range(i + 3, len(cells)) if _starts(cells[j], SOLUTION_END))
        code, call, checker = _split_stub(stub.source)
        found.append(
            dict(
                label=head.group(2),
                title=head.group(1).strip(),
                text=head.group(3).strip(),
                stub=code,
                call=call,
                checker=checker,
                solution=_solution_code(cells[i + 3 : end]),
            )
        )
        i = end + 1
    return found


def setup_code(nb) -> str:
    """The chapter's first code cells, up to the one that imports convlab: the install
    cell (it installs convlab where it is missing, on Colab say) and the imports."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cells.append(cell.source)
        if re.search(r"^(import convlab|from convlab import)", cell.source, re.M):
            return "\n\n".join(cells)
    raise ValueError("no code cell of the chapter imports convlab")


def hidden_call(call: str, checker: str, seed: int) -> str:
    """The checker call with another seed and ``HIDDEN_FACTOR`` times its default cases."""
    from convlab import exercises

    default = inspect.signature(getattr(exercises, checker)).parameters["cases"].default
    return f"{call[:-1]}, cases={HIDDEN_FACTOR * default}, seed={seed})"


def _test_cell(name: str, args: list[str], calls: list[str], *, hidden: bool, points: int):
    config = textwrap.dedent(
        f'''\
        """ # BEGIN TEST CONFIG
        hidden: {"true" if hidden else "false"}
        points: {points}
        """ # END TEST CONFIG
        '''
    )
    body = "".join(f"    report = {call}\n    assert report, str(report)\n" for call in calls)
    signature = ", ".join(args)
    return nbformat.v4.new_code_cell(
        f"{config}def {name}({signature}):\n{body}\n\n{name}({signature})"
    )


def _argument_names(call: str) -> list[str]:
    """The global names a checker call uses: ``exercises`` and the reader's function."""
    first = re.match(r"exercises\.check_\w+\((\w+)", call).group(1)
    return ["exercises", first]


def draw_hidden_seeds() -> tuple[int, ...]:
    """Seeds for the hidden tests, drawn at build time: no student can know them."""
    rng = random.SystemRandom()
    return tuple(rng.randrange(1, 10**6) for _ in range(HIDDEN_SEED_COUNT))


def master_notebook(path: pathlib.Path, hidden_seeds=None):
    """The otter-grader master notebook of one chapter; ``hidden_seeds`` default: drawn."""
    hidden_seeds = hidden_seeds or draw_hidden_seeds()
    nb = nbformat.read(path, as_version=4)
    name = path.stem
    title = re.sub(r"^#\s*", "", nb.cells[0].source.splitlines()[0])
    title = re.sub(r"^\(\S+\)=\s*\n?", "", title)
    names = labels(nb)
    found = exercises_of(nb)
    for k, ex in enumerate(found, 1):
        names[ex["label"]] = f"Question {k}"
    raw, md, code = (
        nbformat.v4.new_raw_cell,
        nbformat.v4.new_markdown_cell,
        nbformat.v4.new_code_cell,
    )
    points = PUBLIC_POINTS + HIDDEN_POINTS
    config = textwrap.dedent(
        f"""\
        # ASSIGNMENT CONFIG
        name: {name}
        init_cell: true
        check_all_cell: true
        export_cell: false
        run_tests: false
        generate: true
        show_question_points: true
        tests:
          ok_format: false
          files: false
        """
    )
    cells = [
        raw(config),
        md(
            f"# Assignment: {_chapter_title(nb)}\n\n"
            f"The exercises of chapter {path.stem[:2].lstrip('0')} of *Fold & Unfold*, "
            f"{len(found)} questions of {points} points each. Read the chapter first: the "
            "questions use its names, and the sections they cite are the chapter's. "
            "For each one, replace `raise NotImplementedError` with your code and run the cell: "
            "the book's checker under it says PASSED, FAILED (and which case, and why) or "
            "NOT YET. Then run the `grader.check` cell under it.\n\n"
            f"Each question has a public test ({PUBLIC_POINTS} point), the checker you see, and "
            f"hidden tests ({HIDDEN_POINTS} points): the same checker on other cases, run when "
            "your work is graded. A function that passes only the cases it was shown loses "
            "those points. Run every cell from the top before you submit "
            "(Kernel, Restart Kernel and Run All Cells): only what the notebook defines "
            "when run from the top is graded. A question that asks you to predict or "
            "explain something before you write code asks it for you: that part is not "
            "graded, and a markdown cell of your own is the place for the answer."
        ),
        code(setup_code(nb)),
    ]
    for k, ex in enumerate(found, 1):
        text = ex["text"]
        if "_solution" in text:
            raise ValueError(f"{ex['label']}: its text names a solution of the book: {text!r}")
        cells.append(md(f"## Question {k}: {ex['title']}\n\n{plain_markdown(text, names)}"))
        cells.append(raw(f"# BEGIN QUESTION\nname: q{k}\npoints: {points}"))
        cells.append(raw("# BEGIN SOLUTION"))
        if '"""' in ex["stub"]:
            raise ValueError(f"{ex['label']}: a stub with a triple quote cannot be a prompt")
        cells.append(
            code(
                f'""" # BEGIN PROMPT\n{ex["stub"]}\n""" # END PROMPT\n'
                f"# BEGIN SOLUTION NO PROMPT\n{ex['solution']}\n# END SOLUTION\n\n\n{ex['call']}"
            )
        )
        cells.append(raw("# END SOLUTION"))
        cells.append(raw("# BEGIN TESTS"))
        args = _argument_names(ex["call"])
        cells.append(
            _test_cell(
                "test_the_book_cases", args, [ex["call"]], hidden=False, points=PUBLIC_POINTS
            )
        )
        hidden = [hidden_call(ex["call"], ex["checker"], seed) for seed in hidden_seeds]
        cells.append(
            _test_cell("test_other_cases", args, hidden, hidden=True, points=HIDDEN_POINTS)
        )
        cells.append(raw("# END TESTS"))
        cells.append(raw("# END QUESTION"))
    master = nbformat.v4.new_notebook(cells=cells, metadata=dict(nb.metadata))
    return master


def _chapter_title(nb) -> str:
    for line in nb.cells[0].source.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError("the chapter has no title")


def write(
    out_dir: pathlib.Path, chapters=CHAPTERS, *, assign: bool = True, hidden_seeds=None
) -> list[pathlib.Path]:
    """Write each chapter's master notebook and, with ``assign``, run ``otter assign`` on it."""
    written = []
    for path in chapters:
        folder = out_dir / path.stem
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        master = folder / path.name
        nbformat.write(master_notebook(path, hidden_seeds), master)
        if assign:
            subprocess.run(
                [sys.executable, "-m", "otter", "assign", "--no-pdfs", master.name, "dist"],
                cwd=folder,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            for part in ("student", "autograder"):
                (folder / "dist" / part).rename(folder / part)
                _say_what_check_all_does(folder / part / path.name)
            (folder / "dist").rmdir()
        written.append(folder)
    return written


def _say_what_check_all_does(path: pathlib.Path):
    nb = nbformat.read(path, as_version=4)
    old, new = CHECK_ALL_TEXT
    found = [c for c in nb.cells if c.cell_type == "markdown" and old in c.source]
    if len(found) != 1:
        raise ValueError(f"{path}: otter's check-all text is not there once: {old!r}")
    found[0].source = found[0].source.replace(old, new)
    nbformat.write(nb, path)


def grade(chapter_dir: pathlib.Path, submission: pathlib.Path, out: pathlib.Path) -> dict:
    """Grade one submission offline with ``otter run`` (no Docker): each question's
    ``{"score", "max_score", "output"}`` by name. ``out`` is created for otter's files."""
    (zip_path,) = (chapter_dir / "autograder").glob("*-autograder_*.zip")
    out.mkdir(parents=True, exist_ok=True)
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
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # several gradings at once, a core each
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"otter run failed on {submission}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: t for t in results["tests"] if "max_score" in t}


def grade_class(chapter_dir: pathlib.Path, submissions, csv_path: pathlib.Path, workers: int = 2):
    """Grade every submission (``.ipynb``), ``workers`` at a time, into one CSV: a row per
    submission, a column per question, the total. Returns the rows."""
    submissions = [pathlib.Path(s) for s in submissions]
    work = csv_path.parent / f"{csv_path.stem}-otter"

    def one(item):
        i, sub = item
        return grade(chapter_dir, sub, work / f"{i:04d}-{sub.stem}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        scores = list(pool.map(one, enumerate(submissions)))
    questions = sorted({q for s in scores for q in s}, key=lambda q: int(q[1:]))
    rows = []
    for sub, got in zip(submissions, scores):
        row = {"submission": str(sub)}
        row.update({q: got[q]["score"] if q in got else "" for q in questions})
        row["total"] = sum(t["score"] for t in got.values())
        row["out_of"] = sum(t["max_score"] for t in got.values())
        rows.append(row)
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["submission", *questions, "total", "out_of"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="assignments", type=pathlib.Path)
    parser.add_argument("--master-only", action="store_true", help="skip otter assign")
    parser.add_argument(
        "--grade",
        nargs="+",
        metavar="SUBMISSION",
        help="grade these notebooks with OUT's autograder (OUT: one chapter's folder)",
    )
    parser.add_argument("--csv", type=pathlib.Path, default=pathlib.Path("grades.csv"))
    args = parser.parse_args()
    if args.grade:
        for row in grade_class(args.out, args.grade, args.csv):
            print(f"{row['submission']}: {row['total']:g} / {row['out_of']:g}")
        print(f"every score: {args.csv}")
        return 0
    for folder in write(args.out, assign=not args.master_only):
        print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
