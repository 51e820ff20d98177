"""The ``{convlab-api}`` directive: every public function and class of ``convlab``,
from its docstring, on ``book/api.md``.

Each entry: the call with its signature, a link to the chapter that teaches it
(every "chapter N" its docstring names), and the docstring itself, shown as
written (the formula is there). Made from the package when the site is built, so
it cannot drift from the code; ``tests/test_api_page.py`` checks that every
public name is listed and names its chapter.
"""

from __future__ import annotations

import importlib
import inspect
import re

from claims_page import ref
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

CHAPTERS = {
    "1": ("1. Sliding blocks: unfold", "ch-unfold"),
    "2": ("2. Putting blocks back: fold", "ch-fold"),
    "3": ("3. Convolution is a matrix multiplication", "ch-matmul"),
    "4": ("4. Transposed convolution, four ways", "ch-transposed"),
    "5": ("5. Backward: every gradient is an unfold or a fold", "ch-backward"),
}
# (heading, module, which of its names): the API a reader or a teacher calls
GROUPS = [
    ("The operations and shape rules: convlab", "convlab", "__all__"),
    ("Modules: convlab.nn", "convlab.nn", "classes"),
    ("Exercise checkers: convlab.exercises", "convlab.exercises", "__all__"),
    ("Explorers: convlab.widgets", "convlab.widgets", "functions"),
    ("Figures: convlab.draw", "convlab.draw", "pictures"),
    ("What PyTorch runs: convlab.aten", "convlab.aten", "functions"),
]


def entries(module_name: str, which: str) -> list[tuple[str, object]]:
    """The (qualified name, object) pairs a group lists, in source order."""
    module = importlib.import_module(module_name)
    if which == "__all__":
        names = [n for n in module.__all__ if not inspect.ismodule(getattr(module, n))]
        objects = [(n, getattr(module, n)) for n in names]
        objects = [(n, o) for n, o in objects if callable(o)]
    else:
        objects = [
            (n, o)
            for n, o in vars(module).items()
            if not n.startswith("_")
            and getattr(o, "__module__", None) == module.__name__
            and (
                (which == "classes" and inspect.isclass(o))
                or (which == "functions" and inspect.isfunction(o))
                or (which == "pictures" and inspect.isfunction(o) and n.endswith("_picture"))
            )
        ]
    return [(f"{module_name}.{n}", o) for n, o in objects]


def chapters_of(doc: str) -> list[str]:
    """The chapters a docstring names ("chapter 3", "Chapter 4"), in order, once each."""
    found = []
    for number in re.findall(r"[Cc]hapters? (\d)", doc):
        if number in CHAPTERS and number not in found:
            found.append(number)
    return found


def _signature(name: str, obj) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


class ConvlabApi(SphinxDirective):
    """Expand to the reference of every public name of convlab."""

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for heading, module_name, which in GROUPS:
            module = importlib.import_module(module_name)
            self.env.note_dependency(inspect.getfile(module))
            out.append(nodes.rubric(heading, heading))
            for name, obj in entries(module_name, which):
                doc = inspect.getdoc(obj) or ""
                entry = nodes.container(
                    classes=["api-entry"], ids=["api-" + name.replace(".", "-")]
                )
                call = _signature(name, obj)
                head = nodes.paragraph(classes=["api-call"])
                head += nodes.literal(call, call)
                entry += head
                numbers = chapters_of(doc)
                if numbers:
                    taught = nodes.paragraph(classes=["api-chapter"])
                    taught += nodes.Text("Taught in ")
                    for i, number in enumerate(numbers):
                        if i:
                            taught += nodes.Text(", ")
                        taught += ref(CHAPTERS[number][1], CHAPTERS[number][0])
                    taught += nodes.Text(".")
                    entry += taught
                entry += nodes.literal_block(doc, doc, classes=["api-doc"])
                out.append(entry)
        return out


def setup(app):
    app.add_directive("convlab-api", ConvlabApi)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
