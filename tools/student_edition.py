"""Write the student edition of the chapter notebooks (`make student`).

From the same notebooks as the book (one source of truth), for each
``notebooks/NN_*.ipynb`` it writes ``<out>/notebooks/NN_*.ipynb`` with

- every solution removed: the markdown cells ```` ```{solution-start} ... ```` and
  ```` ```{solution-end} ```` and every cell between them;
- the outputs of each exercise's cells cleared (the stub and its checker's stored
  "NOT YET"), so a student sees a cell to run, not a result;
- everything else kept: the chapter's text, its cells and their outputs, the
  explorers, the questions and their answers (those are the book's, not an
  exercise's), and the notebook metadata.

The student notebooks import ``convlab`` like the book's; run them from a
checkout with the package installed (``make setup``). ``--check`` verifies an
existing edition: no line of any solution's code appears in it. ``--site``
also builds the student edition of the site into ``<out>/_build/html``: the
book's configuration with ``hide_solutions`` (sphinx-exercise) and the title
marked, over the student notebooks, so no solution can reach a page; and without
the teachers' part of the book (lesson plans, quiz answers).

    python tools/student_edition.py [OUT]          # default: student/
    python tools/student_edition.py --site [OUT]
    python tools/student_edition.py --check [OUT]
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import subprocess
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOLUTION_START = "```{solution-start}"
SOLUTION_END = "```{solution-end}"
EXERCISE = "```{exercise}"
TEACHERS = "For teachers"  # the part of _toc.yml the student site leaves out


def _starts(cell, marker: str) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(marker)


def solution_cells(nb) -> list[int]:
    """The indices of the cells of every solution, its two markers included."""
    found, inside = [], False
    for i, cell in enumerate(nb.cells):
        if _starts(cell, SOLUTION_START):
            if inside:
                raise ValueError(f"cell {i}: a solution starts inside another one")
            inside = True
        if inside:
            found.append(i)
        if _starts(cell, SOLUTION_END):
            if not inside:
                raise ValueError(f"cell {i}: a solution ends that never started")
            inside = False
    if inside:
        raise ValueError("a solution never ends")
    return found


def solution_lines(nb) -> set[str]:
    """The lines of the solutions' code worth looking for: longer than 12
    characters, and not also a line of a cell outside the solutions (a stub's
    signature, a checker call, a line of the chapter's own code)."""
    inside = set(solution_cells(nb))
    others = {
        line.strip()
        for i, cell in enumerate(nb.cells)
        if i not in inside
        for line in cell.source.splitlines()
    }
    return {
        line.strip()
        for i in inside
        if nb.cells[i].cell_type == "code"
        for line in nb.cells[i].source.splitlines()
        if len(line.strip()) > 12 and line.strip() not in others
    }


def student_notebook(nb):
    """A copy of ``nb`` without its solutions and with its exercises' outputs cleared."""
    out = copy.deepcopy(nb)
    drop = set(solution_cells(out))
    cells, in_exercise = [], False
    for i, cell in enumerate(out.cells):
        if i in drop:
            in_exercise = False
            continue
        if cell.cell_type == "markdown":
            in_exercise = _starts(cell, EXERCISE)
        elif in_exercise:  # the stub and its checker, after an exercise
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    out.cells = cells
    return out


def write(out_dir: pathlib.Path) -> list[pathlib.Path]:
    written = []
    (out_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        target = out_dir / "notebooks" / path.name
        nbformat.write(student_notebook(nb), target)
        written.append(target)
    return written


def check(out_dir: pathlib.Path) -> list[str]:
    """What a student edition must not contain: a solution, or a missing chapter."""
    problems = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        target = out_dir / "notebooks" / path.name
        if not target.exists():
            problems.append(f"{target}: missing")
            continue
        student = nbformat.read(target, as_version=4)
        if solution_cells(student):
            problems.append(f"{target}: still has solution markers")
        lines = {line.strip() for c in student.cells for line in c.source.splitlines()}
        for line in sorted(solution_lines(nbformat.read(path, as_version=4))):
            if line in lines:
                problems.append(f"{target}: a solution line is there: {line!r}")
    return problems


def build_site(out_dir: pathlib.Path) -> pathlib.Path:
    """Build the student site from ``out_dir/notebooks`` (written by :func:`write`)."""
    config = (ROOT / "_config.yml").read_text()
    marked = config.replace('title: "Fold & Unfold"', 'title: "Fold & Unfold (student edition)"', 1)
    marked = marked.replace("\n  config:\n", "\n  config:\n    hide_solutions: true\n", 1)
    if marked.count("hide_solutions") != 1 or "student edition" not in marked:
        raise RuntimeError("_config.yml changed shape: update build_site")
    (out_dir / "_config.yml").write_text(marked)
    # the teacher's part (plans, quiz answers) is not the students'
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = [p for p in toc["parts"] if p.get("caption") != TEACHERS]
    if len(parts) != len(toc["parts"]) - 1:
        raise RuntimeError(f"_toc.yml has no part {TEACHERS!r}: update build_site")
    toc["parts"] = parts
    (out_dir / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    for name in ("book", "vendor"):  # the pages, extensions and assets, shared
        link = out_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(ROOT / name, target_is_directory=True)
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb), "build", str(out_dir), "--builder", "html", "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out_dir / "_build" / "html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "student"))
    parser.add_argument("--check", action="store_true", help="only verify an existing edition")
    parser.add_argument("--site", action="store_true", help="also build the student site")
    args = parser.parse_args()
    out_dir = pathlib.Path(args.out).resolve()
    if not args.check:
        for path in write(out_dir):
            print(f"wrote {path}")
    if args.site:
        print(f"the student site: {build_site(out_dir) / 'index.html'}")
    problems = check(out_dir)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
