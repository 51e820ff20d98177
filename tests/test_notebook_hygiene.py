"""tools/run_notebooks.py: the cleaning rules and the check that `make test` runs."""

import importlib.util
import pathlib

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools/run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_notebooks)


def _notebook(metadata):
    nb = nbformat.v4.new_notebook(metadata=dict(run_notebooks.NOTEBOOK_METADATA))
    cell = nbformat.v4.new_code_cell("1 + 1", metadata=metadata, execution_count=1)
    nb.cells = [cell]
    return nb


def test_allowed_cell_metadata_is_kept_and_the_rest_dropped(monkeypatch):
    monkeypatch.setitem(run_notebooks.ALLOWED_CELL_METADATA, "jupyter.source_hidden", "test")
    nb = _notebook(
        {
            "tags": ["nbval-ignore-output"],
            "scrolled": True,
            "jupyter": {"source_hidden": True, "other_state": True},
        }
    )
    assert run_notebooks.problems(nb, "nb")  # extra keys are reported
    run_notebooks.clean(nb)
    assert nb.cells[0].metadata == {
        "tags": ["nbval-ignore-output"],
        "jupyter": {"source_hidden": True},
    }
    assert run_notebooks.problems(nb, "nb") == []
    # a cell without the allowed nested key keeps no empty parent
    other = _notebook({"jupyter": {"other_state": True}})
    run_notebooks.clean(other)
    assert other.cells[0].metadata == {}


def test_every_allowed_key_says_why():
    assert run_notebooks.ALLOWED_CELL_METADATA
    for key, why in run_notebooks.ALLOWED_CELL_METADATA.items():
        assert key and len(why) > 20


def test_committed_notebooks_are_clean():
    found = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        found += run_notebooks.problems(nbformat.read(path, as_version=4), path.name)
    assert found == []


def test_consecutive_streams_are_merged_and_unmerged_ones_reported():
    nb = _notebook({})
    stream = nbformat.v4.new_output
    nb.cells[0].outputs = [
        stream("stream", name="stdout", text="a\n"),
        stream("stream", name="stdout", text="b\n"),
        stream("stream", name="stderr", text="warn\n"),
        stream("stream", name="stdout", text="c\n"),
        stream("stream", name="stdout", text="d\n"),
    ]
    assert any("not merged" in p for p in run_notebooks.problems(nb, "nb"))
    run_notebooks.clean(nb)
    texts = [(o.name, o.text) for o in nb.cells[0].outputs]
    assert texts == [("stdout", "a\nb\n"), ("stderr", "warn\n"), ("stdout", "c\nd\n")]
    assert run_notebooks.problems(nb, "nb") == []


def test_every_solution_is_collapsed_in_jupyterlab():
    """A student opening a chapter in JupyterLab sees the stub, not the solution."""
    spec = importlib.util.spec_from_file_location(
        "student_edition", ROOT / "tools/student_edition.py"
    )
    student_edition = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student_edition)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        inside = set(student_edition.solution_cells(nb))
        for i, cell in enumerate(nb.cells):
            hidden = cell.metadata.get("jupyter", {})
            marker = cell.source.lstrip().startswith("```{solution")
            if i in inside and cell.cell_type == "code":
                assert hidden == {"source_hidden": True, "outputs_hidden": True}, (path.name, i)
                # a collapsed cell shows its first line: let it give nothing away
                assert cell.source.startswith("# a solution (try your own first)\n")
            elif i in inside and not marker:
                assert hidden == {"source_hidden": True}, (path.name, i)
                assert cell.source.startswith("**Why it works**\n")
            else:
                assert not hidden, (path.name, i)  # nothing else is collapsed
