"""The book's explorers: one renderer, on the static site and in JupyterLab.

An explorer shows a scene of :mod:`convlab.scenes` (labelled grids whose
cells light up frame by frame) with a slider per parameter, named as in
PyTorch, and First / Back / Play / Next controls. The geometry is computed in
Python by convlab; ``convlab/explorer.js`` (package data, with
``explorer.css``) only draws it, as SVG. Displayed in a notebook, an
explorer carries two renderings:

- ``text/html``, the static site's: the scenes of every combination of a grid
  of parameter values (:attr:`Explorer.grid`, chosen to be wide enough to
  explore), gzip-compressed and embedded in the page, with the renderer
  inline. No server, no network. ``make outputs`` keeps only this rendering
  in the committed notebooks.
- the live widget (an ``anywidget``, whose front end ships in its wheel): the
  same renderer, whose sliders cover :attr:`Explorer.live` and ask the kernel
  for each new scene.

Parameters outside what fits (a kernel larger than the padded input, an
``output_padding`` not below ``stride`` or ``dilation``) show convlab's own
error message instead of a drawing.

Chapters 1-5; see CONTRIBUTING.md, "Adding an explorer".
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import html
import json
import pathlib

from . import scenes

__all__ = [
    "EXPLORERS",
    "Explorer",
    "SlidingBlocks",
    "sliding_blocks",
    "Dilation",
    "dilation",
    "FoldAccumulation",
    "fold_accumulation",
    "MatmulView",
    "matmul_view",
    "GroupsView",
    "groups_view",
    "TransposeViews",
    "transpose_views",
    "BackwardPairs",
    "backward_pairs",
    "renderer_js",
    "renderer_css",
]

_HERE = pathlib.Path(__file__).parent


def renderer_js() -> str:
    """The text of ``convlab/explorer.js``, the one renderer of every explorer."""
    return (_HERE / "explorer.js").read_text(encoding="utf-8")


def renderer_css() -> str:
    """The text of ``convlab/explorer.css``."""
    return (_HERE / "explorer.css").read_text(encoding="utf-8")


def _compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Explorer:
    """Parameters + a scene builder of :mod:`convlab.scenes`, static or live.

    Subclasses set ``title``, ``build`` (a function of :mod:`convlab.scenes`),
    ``grid`` (``name -> values`` precomputed for the static site; the
    explorer's own values are added to it; a parameter not in it keeps the
    explorer's value and has no slider) and ``live`` (``name -> (min,
    max)`` for the sliders of the live widget).
    """

    title = "explorer"
    build = None  # set by each subclass (a staticmethod)
    grid: dict = {}
    live: dict = {}

    def __init__(self, **params):
        self.params = params
        self.scene = type(self).build(**params)  # raises convlab's errors at once
        self._widget = None

    # ---- static site -----------------------------------------------------------
    def static_grid(self) -> dict:
        """The grid of the static site, with this explorer's own values in it."""
        return {
            name: sorted(set(values) | {self.params[name]}) for name, values in self.grid.items()
        }

    def static_data(self) -> dict:
        grid = self.static_grid()
        fixed = {k: v for k, v in self.params.items() if k not in grid}  # no slider
        found, errors = scenes.grid_scenes(functools.partial(type(self).build, **fixed), grid)
        return {
            "title": self.title,
            "controls": [{"name": n, "values": v} for n, v in grid.items()],
            "initial": self.params,
            "scenes": found,
            "errors": errors,
        }

    def to_html(self) -> str:
        """The static site's rendering: scenes of the grid, the renderer, no network.

        Deterministic (gzip without a time stamp, an id from the content), so
        re-running a notebook gives identical HTML.
        """
        payload = base64.b64encode(
            gzip.compress(_compact(self.static_data()).encode(), compresslevel=9, mtime=0)
        ).decode("ascii")
        uid = "cx-" + hashlib.sha1(payload.encode()).hexdigest()[:10]
        fallback = html.escape(f"{self.scene['title']}. {scenes.caption(self.scene, 0)}")
        return (
            f'<div class="cx-host">\n<style>{renderer_css()}</style>\n'
            f'<div class="convlab-explorer" id="{uid}" data-explorer="{type(self).__name__}" '
            f'role="group" aria-label="{html.escape(self.title, quote=True)}">\n'
            f'<p class="cx-fallback">Explorer: {fallback} (Its controls run where JavaScript '
            "runs: on the book's site, or in JupyterLab once the cell has run.)</p>\n"
            f'<script type="application/octet-stream" class="cx-data">{payload}</script>\n'
            f'</div>\n<script type="module">\n{renderer_js()}\n'
            f"mountStatic(document.getElementById({json.dumps(uid)}));\n</script>\n</div>"
        )

    def describe(self) -> str:
        return self.scene["title"]

    def __repr__(self):
        return (
            f"<{type(self).__name__}: {self.describe()}, {self.scene['frames']} frames; "
            f"frame 1: {scenes.caption(self.scene, 0)}>"
        )

    # ---- JupyterLab ------------------------------------------------------------
    def widget(self):
        """The live view (an anywidget; built once, on first use)."""
        if self._widget is None:
            self._widget = _live_widget(self)
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self), "text/html": self.to_html()}
        try:
            view = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no kernel or no anywidget: the static rendering alone
            view = None
        if isinstance(view, tuple):
            view = view[0]
        if view:
            bundle.update({k: v for k, v in view.items() if k != "text/plain"})
        return bundle


def _live_widget(explorer: Explorer):
    """An anywidget running ``explorer.js``; each new parameter set is a new scene."""
    import anywidget
    import traitlets as t

    class ExplorerWidget(anywidget.AnyWidget):
        _esm = _HERE / "explorer.js"
        _css = _HERE / "explorer.css"
        title = t.Unicode().tag(sync=True)
        kind = t.Unicode().tag(sync=True)
        controls = t.List().tag(sync=True)
        params = t.Dict().tag(sync=True)  # the initial parameters
        request = t.Dict().tag(sync=True)  # {"id", "params"}, from the front end
        result = t.Dict().tag(sync=True)  # {"id", "scene" | "error"}, the answer

        @t.observe("request")
        def _recompute(self, change):
            request = change["new"]
            self.result = _result(type(explorer).build, request["params"], request["id"])

    controls = [
        {"name": n, "values": list(range(lo, hi + 1))} for n, (lo, hi) in explorer.live.items()
    ]
    return ExplorerWidget(
        title=explorer.title,
        kind=type(explorer).__name__,
        controls=controls,
        params=dict(explorer.params),
        result=_result(type(explorer).build, explorer.params, "initial"),
    )


def _result(build, params, request_id) -> dict:
    """What the live widget sends: the scene for ``params``, or convlab's error."""
    try:
        return {"id": request_id, "scene": build(**params)}
    except (ValueError, TypeError) as err:
        return {"id": request_id, "error": str(err)}


_SPATIAL = {"kernel_size": [1, 2, 3, 4], "stride": [1, 2, 3], "padding": [0, 1, 2]}


class SlidingBlocks(Explorer):
    """Step through the blocks of ``unfold``: input, unfolded matrix and output (chapter 1)."""

    title = "Sliding blocks of unfold"
    build = staticmethod(scenes.sliding_blocks)
    grid = {"input_size": [5, 7], **_SPATIAL, "dilation": [1, 2, 3]}
    live = {
        "input_size": (3, 9),
        "kernel_size": (1, 5),
        "stride": (1, 4),
        "padding": (0, 3),
        "dilation": (1, 3),
    }


def sliding_blocks(input_size=5, kernel_size=3, stride=1, padding=1, dilation=1):
    """The sliding-blocks explorer: one frame per block ``l`` of ``unfold``.

    The number of blocks is ``L = prod floor((in + 2p - d(k-1) - 1)/s) + 1``.
    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    return SlidingBlocks(
        input_size=input_size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


class Dilation(Explorer):
    """One block's footprint spreading as ``dilation`` grows (each frame: dilation + 1)."""

    title = "Dilation spreads a block"
    build = staticmethod(scenes.dilation)
    grid = {"input_size": [7, 9, 11], "kernel_size": [1, 2, 3, 4, 5]}
    live = {"input_size": (5, 13), "kernel_size": (1, 5)}


def dilation(input_size=9, kernel_size=3):
    """The dilation explorer: the receptive field ``dilation*(kernel_size-1)+1`` as dilation grows.

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    return Dilation(input_size=input_size, kernel_size=kernel_size)


class FoldAccumulation(Explorer):
    """fold adding the blocks back one at a time, with the running overlap count (chapter 2)."""

    title = "fold adds the blocks back"
    build = staticmethod(scenes.fold_accumulation)
    # stride up to 4: past a 3-pixel kernel, blocks leave gaps
    grid = {"input_size": [5, 7], **_SPATIAL, "stride": [1, 2, 3, 4], "dilation": [1, 2, 3]}
    live = {
        "input_size": (3, 8),
        "kernel_size": (1, 4),
        "stride": (1, 4),
        "padding": (0, 2),
        "dilation": (1, 3),
    }


def fold_accumulation(input_size=5, kernel_size=3, stride=2, padding=0, dilation=1):
    """The fold explorer: each frame adds one column back; the counts end as ``fold_divisor``.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    return FoldAccumulation(
        input_size=input_size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


class MatmulView(Explorer):
    """Convolution as ``weight @ cols``: each frame is one output value (chapter 3)."""

    title = "Convolution as a matrix multiplication"
    build = staticmethod(scenes.matmul)
    grid = {
        "input_size": [3, 4],
        "kernel_size": [1, 2, 3],
        "stride": [1, 2],
        "padding": [0, 1],
        "dilation": [1, 2],
        "out_channels": [1, 2],
    }
    live = {
        "input_size": (2, 6),
        "kernel_size": (1, 3),
        "stride": (1, 3),
        "padding": (0, 2),
        "dilation": (1, 2),
        "out_channels": (1, 3),
    }


def matmul_view(input_size=4, kernel_size=2, stride=1, padding=0, dilation=1, out_channels=2):
    """The matmul explorer: an output value, its weight row, its column, its block.

    ``y[c, l] = weight.view(C_out, -1)[c] @ unfold(x)[:, l]``.
    Taught in chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``).
    """
    return MatmulView(
        input_size=input_size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        out_channels=out_channels,
        in_channels=1,
        groups=1,
    )


class GroupsView(Explorer):
    """Grouped convolution as ``g`` products of contiguous row blocks (chapter 3, section 3.3)."""

    title = "Groups: each output channel reads its own block of rows"
    build = staticmethod(scenes.matmul)
    grid = {
        "in_channels": [1, 2, 3, 4],
        "out_channels": [1, 2, 3, 4],
        "groups": [1, 2, 3, 4],
        "kernel_size": [1, 2],
    }
    live = {
        "input_size": (2, 4),
        "kernel_size": (1, 3),
        "in_channels": (1, 4),
        "out_channels": (1, 6),
        "groups": (1, 4),
    }


def groups_view(in_channels=4, out_channels=4, groups=2, kernel_size=1, input_size=3):
    """The groups explorer: with ``groups=g``, output channel ``c`` reads only the rows of
    ``unfold(x)`` of group ``c // (C_out/g)``: ``C_in/g * K`` contiguous rows.

    Taught in chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``, section 3.3).
    """
    return GroupsView(
        in_channels=in_channels,
        out_channels=out_channels,
        groups=groups,
        kernel_size=kernel_size,
        input_size=input_size,
        stride=1,
        padding=0,
        dilation=1,
    )


class TransposeViews(Explorer):
    """Transposed convolution, scatter and gather side by side, one output pixel a frame."""

    title = "Transposed convolution: scatter and gather"
    build = staticmethod(scenes.transpose)
    grid = {
        "input_size": [2, 3],
        **_SPATIAL,
        "output_padding": [0, 1, 2],
        "dilation": [1, 2],
    }
    live = {
        "input_size": (2, 4),
        "kernel_size": (1, 4),
        "stride": (1, 3),
        "padding": (0, 3),
        "output_padding": (0, 2),
        "dilation": (1, 2),
    }


def transpose_views(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=0, dilation=1):
    """The transposed-convolution explorer: scatter (stamps) and gather (rotated kernel).

    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``.
    Taught in chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
    """
    return TransposeViews(
        input_size=input_size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )


class BackwardPairs(Explorer):
    """The products behind each gradient of a convolution: a tap of weight a frame, then a
    pixel of x (chapter 5)."""

    title = "Backward: the products behind each gradient"
    build = staticmethod(scenes.backward_pairs)
    # stride 3 past a kernel of 1 or 2 leaves pixels that no block covers
    grid = {"input_size": [3, 4, 5], **_SPATIAL, "dilation": [1, 2]}
    live = SlidingBlocks.live  # the sliders of chapter 1's blocks


def backward_pairs(input_size=5, kernel_size=3, stride=1, padding=1, dilation=1):
    """The backward explorer: which products sum into ``weight.grad[i, j]`` (row ``(i, j)``
    of ``unfold(x)`` times ``grad_y``) and into ``x.grad[r, c]`` (what ``fold`` adds onto it).

    ``weight.grad = grad_y @ unfold(x).T`` and ``x.grad = fold(weight.T @ grad_y)``.
    Taught in chapter 5 (``notebooks/05_backward.ipynb``).
    """
    params = dict(input_size=input_size, kernel_size=kernel_size, stride=stride)
    return BackwardPairs(**params, padding=padding, dilation=dilation)


#: The function of every explorer the chapters show, in chapter order.
EXPLORERS = [
    sliding_blocks,
    dilation,
    fold_accumulation,
    matmul_view,
    groups_view,
    transpose_views,
    backward_pairs,
]
