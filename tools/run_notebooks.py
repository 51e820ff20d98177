"""Re-execute notebooks in place from a fresh kernel, then clean them (`make outputs`).

One Restart & Run All per notebook (the kernel runs in the notebook's folder,
as under nbval), then:

- execution counts are 1..n; cell ids are kept; per-cell execution timings,
  ``collapsed``/``scrolled`` and other editor state are dropped;
- notebook metadata keeps only the kernelspec and the language name (no
  Python patch version, no saved widget state);
- an explorer's output keeps its static rendering (``text/html``: its
  scenes and its renderer, and ``text/plain``) and drops the widget view,
  which only a live kernel can render: opened before it is run, the notebook
  says in words what the explorer shows, not "model not found";
- consecutive stream outputs of one stream are merged into one: how a
  kernel splits its stdout into messages depends on the machine's load, so
  an unmerged notebook would differ between two runs of the same code;
- stored outputs never contain this machine's paths (checked).

    python tools/run_notebooks.py [notebooks/01_sliding_blocks.ipynb ...]
    python tools/run_notebooks.py --check   # only verify that the files are clean
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The cell metadata a committed notebook may carry; `clean` drops every other
# key (editor state such as `collapsed`, `scrolled`, `execution`, widget
# leftovers) and `--check` reports it. A dotted name is a nested key
# (`jupyter.source_hidden` keeps only that entry of `jupyter`). To allow a new
# key, add it here with the reason it is needed, and say so in CONTRIBUTING.md.
ALLOWED_CELL_METADATA = {
    "tags": "nbval (nbval-ignore-output, raises-exception) and myst-nb "
    "(remove-input, hide-input, ...) read a cell's tags; remove-cell keeps each "
    "chapter's install cell (for Colab) off the site",
    "mystnb.figure": "myst-nb wraps the cell's output in a numbered figure with this "
    "name (the label {numref} cites) and caption",
    "jupyter.source_hidden": "JupyterLab shows an exercise's solution collapsed until the "
    "reader opens it (the site's dropdown does the same)",
    "jupyter.outputs_hidden": "JupyterLab also collapses the solution's stored output "
    "(its checker's PASSED)",
}
IMAGE_METADATA = {"alt", "width", "height"}
NOTEBOOK_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}
MACHINE_PATHS = re.compile(r"(/root/|/home/|/tmp/|site-packages/|/work/)")


def _allowed(metadata: dict) -> dict:
    """Only the keys (and dotted sub-keys) named in ALLOWED_CELL_METADATA."""
    kept: dict = {}
    for path in ALLOWED_CELL_METADATA:
        *parents, leaf = path.split(".")
        source = metadata
        for key in parents:
            source = source.get(key) if isinstance(source, dict) else None
        if not isinstance(source, dict) or leaf not in source:
            continue
        target = kept
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = source[leaf]
    return kept


def clean(nb) -> None:
    """Strip noisy metadata and widget views in place."""
    nb.metadata = json.loads(json.dumps(NOTEBOOK_METADATA))
    count = 0
    for cell in nb.cells:
        cell.metadata = _allowed(cell.metadata)
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        count += 1
        cell.execution_count = count
        outputs = []
        for out in cell.outputs:
            if "data" in out:
                out.data.pop(WIDGET_VIEW, None)
                if not out.data:
                    continue
                # keep an image's alt text and size (myst-nb uses them), nothing else
                out.metadata = {
                    mime: {k: v for k, v in meta.items() if k in IMAGE_METADATA}
                    for mime, meta in out.get("metadata", {}).items()
                    if mime in out.data
                    and isinstance(meta, dict)
                    and any(k in IMAGE_METADATA for k in meta)
                }
            if out.get("output_type") == "execute_result":
                out.execution_count = count
            if _continues_stream(outputs, out):
                outputs[-1].text += out.text
                continue
            outputs.append(out)
        cell.outputs = outputs


def _continues_stream(outputs: list, out) -> bool:
    """Whether `out` is a stream output following one of the same stream."""
    return (
        bool(outputs)
        and out.get("output_type") == "stream"
        and outputs[-1].get("output_type") == "stream"
        and outputs[-1].get("name") == out.get("name")
    )


def problems(nb, path) -> list[str]:
    """What `clean` should have removed, or outputs that leak this machine."""
    found = []
    if set(nb.metadata) - set(NOTEBOOK_METADATA) or "widgets" in nb.metadata:
        found.append(f"{path}: notebook metadata has extra keys {sorted(nb.metadata)}")
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    if counts != list(range(1, len(counts) + 1)):
        found.append(f"{path}: execution counts {counts[:10]} are not 1..n")
    for i, cell in enumerate(nb.cells):
        if cell.metadata != _allowed(cell.metadata):
            allowed = ", ".join(ALLOWED_CELL_METADATA)
            found.append(
                f"{path} cell {i}: metadata {sorted(cell.metadata)} has keys beyond the "
                f"allowed ones ({allowed}; see ALLOWED_CELL_METADATA in tools/run_notebooks.py)"
            )
        outputs = cell.get("outputs", [])
        if any(_continues_stream(outputs[:j], out) for j, out in enumerate(outputs)):
            found.append(f"{path} cell {i}: consecutive stream outputs are not merged")
        for out in outputs:
            blob = json.dumps(out)
            if WIDGET_VIEW in out.get("data", {}):
                found.append(f"{path} cell {i}: a widget view is stored (no kernel to render it)")
            if out.get("output_type") == "error" and "raises-exception" not in cell.metadata.get(
                "tags", []
            ):
                found.append(f"{path} cell {i}: an error output ({out.get('ename')})")
            if MACHINE_PATHS.search(blob):
                found.append(f"{path} cell {i}: an output contains a path of this machine")
    return found


def execute(path: pathlib.Path, timeout: int) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # the kernel must be this environment's python
    os.environ["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    clean(nb)
    nbformat.write(nb, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument("--check", action="store_true", help="only report problems")
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    paths = args.paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    found = []
    for path in paths:
        if not args.check:
            print(
                f"executing {path.relative_to(ROOT) if path.is_absolute() else path} ...",
                flush=True,
            )
            execute(path.resolve(), args.timeout)
        found += problems(nbformat.read(path, as_version=4), path)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
