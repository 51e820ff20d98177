"""Pure matplotlib drawing for the book's figures (no widgets, no pyplot state).

Every figure is labelled so that nothing relies on colour alone: padding cells
are hatched and show their value ``0``, the current block is drawn with thick
outlines, the current column and output pixel are outlined and named in the
caption, and the palette (Okabe & Ito) is colour-blind safe.

The pieces:

- :func:`block_layout` computes, with ``convlab.unfold`` on an integer index
  image, which input pixel every entry of the unfolded matrix comes from;
- :func:`draw_grid` draws a labelled grid of cells on an ``Axes``;
- :class:`SlidingBlocksFigure` puts input, unfolded matrix and output side by
  side and moves the highlight to a block with :meth:`~SlidingBlocksFigure.show_block`.
  Static artists are drawn once; a frame update restores the cached
  background and redraws only the moving artists (blitting).

Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import ops, shapes

__all__ = ["PALETTE", "BlockLayout", "block_layout", "draw_grid", "SlidingBlocksFigure",
           "png_bytes"]

#: Okabe & Ito's colour-blind-safe palette, by role.
PALETTE = {
    "input": "#FFFFFF",
    "padding": "#DDDDDD",
    "block": "#E69F00",  # orange
    "column": "#56B4E9",  # sky blue
    "output": "#009E73",  # bluish green
    "edge": "#000000",
    "grid": "#777777",
}


@dataclass(frozen=True)
class BlockLayout:
    """Where every block of an unfold comes from (single channel).

    ``pixel_ids[r, l]`` is the input pixel number (``row * W + col``) in row
    ``r`` (kernel offset, row-major) of column ``l`` of the unfolded matrix, or
    ``-1`` for a padding zero. ``cells[l]`` lists the ``(row, col)``
    coordinates in the *padded* image of the K cells of block ``l``.
    """

    input_size: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    out_shape: tuple
    pixel_ids: np.ndarray  # (K, L) int
    cells: np.ndarray  # (L, K, 2) int, padded coordinates

    @property
    def L(self) -> int:
        return self.pixel_ids.shape[1]

    @property
    def K(self) -> int:
        return self.pixel_ids.shape[0]

    @property
    def padded_size(self) -> tuple:
        return tuple(self.input_size[i] + 2 * self.padding[i] for i in range(2))


def block_layout(input_size, kernel_size, stride=1, padding=0, dilation=1) -> BlockLayout:
    """Unfold an index image to find which pixel lands in which row and column.

    ``unfold(arange(H*W).view(1, 1, H, W) + 1, ...) - 1`` gives the pixel
    numbers, with ``-1`` where a block reads padding; unfolding the padded
    image's own index gives each block's cells. Raises convlab's ``ValueError``
    for parameters that do not fit.
    """
    size, k, s, pads, d = shapes.normalize(input_size, kernel_size, stride, padding, dilation,
                                           ndim=2)
    p = tuple(pair[0] for pair in pads)
    out_shape = shapes.conv_output_shape(size, k, s, p, d)
    H, W = size
    ids = (torch.arange(H * W).view(1, 1, H, W) + 1)
    pixel_ids = ops.unfold(ids, k, d, p, s)[0].numpy() - 1  # padding zeros become -1
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    padded = torch.arange(Hp * Wp).view(1, 1, Hp, Wp)
    flat = ops.unfold(padded, k, d, 0, s)[0].numpy()  # (K, L)
    cells = np.stack([flat // Wp, flat % Wp], axis=-1).transpose(1, 0, 2)
    return BlockLayout(size, k, s, p, d, out_shape, pixel_ids, cells)


def draw_grid(ax, labels, *, hatched=None, title="", fontsize=8, facecolor=None,
              row_labels=None, col_labels=None):
    """Draw a grid of labelled cells; cell ``(r, c)`` spans ``[c, c+1] x [r, r+1]``.

    ``labels`` is a 2-D array of strings; ``hatched`` an optional boolean mask
    of cells drawn hatched in the padding colour (the label tells the value).
    Row 0 is at the top. Returns the list of artists drawn.
    """
    labels = np.asarray(labels, dtype=object)
    rows, cols = labels.shape
    hatched = np.zeros(labels.shape, bool) if hatched is None else np.asarray(hatched)
    artists = []
    for r in range(rows):
        for c in range(cols):
            pad = bool(hatched[r, c])
            rect = Rectangle((c, r), 1, 1, facecolor=PALETTE["padding"] if pad else
                             (facecolor or PALETTE["input"]), edgecolor=PALETTE["grid"],
                             linewidth=0.6, hatch="///" if pad else None)
            ax.add_patch(rect)
            artists.append(rect)
            if labels[r, c] != "":
                artists.append(ax.text(c + 0.5, r + 0.5, labels[r, c], ha="center",
                                       va="center", fontsize=fontsize,
                                       color="#333333" if pad else "black"))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if row_labels is not None:
        ax.set_yticks(np.arange(rows) + 0.5, row_labels, fontsize=fontsize - 1)
        ax.tick_params(axis="y", length=0)
    if col_labels is not None:
        ax.set_xticks(np.arange(cols) + 0.5, col_labels, fontsize=fontsize - 1)
        ax.tick_params(axis="x", length=0)
    if title:
        ax.set_title(title, fontsize=fontsize + 1, loc="center")
    return artists


def png_bytes(fig_or_rgba, *, colors=None) -> bytes:
    """Encode a figure (or an RGBA array) as PNG; ``colors`` quantizes to a palette."""
    from PIL import Image

    if isinstance(fig_or_rgba, Figure):
        fig_or_rgba.canvas.draw()
        rgba = np.asarray(fig_or_rgba.canvas.buffer_rgba())
    else:
        rgba = fig_or_rgba
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1 if not colors else 9)
    return out.getvalue()


class SlidingBlocksFigure:
    """Input (padded), unfolded matrix and output grid, with one block highlighted.

    >>> fig = SlidingBlocksFigure(5, 3, stride=2, padding=1)
    >>> fig.layout.L
    9
    >>> fig.show_block(4).startswith("block 4 of 9 reads rows 1..3")
    True

    Each cell of the input shows its pixel number (``row * W + col``), padding
    cells show ``0`` and are hatched; each cell of the unfolded matrix shows
    which pixel was copied there; each output cell shows its column ``l``.
    """

    def __init__(self, input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, *,
                 dpi=88):
        self.layout = lay = block_layout(input_size, kernel_size, stride, padding, dilation)
        Hp, Wp = lay.padded_size
        H, W = lay.input_size
        Ho, Wo = lay.out_shape
        K, L = lay.K, lay.L
        cell = 0.30  # inches per cell in the input and output grids
        mcell = min(cell, 7.5 / max(L, 1))  # the matrix's columns shrink when L is large
        widths = [Wp * cell, L * mcell, Wo * cell]
        heights = [Hp * cell, K * mcell, Ho * cell]
        self.fig = Figure(figsize=(sum(widths) + 2.0, max(heights) + 0.7), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        gs = self.fig.add_gridspec(1, 3, width_ratios=widths, left=0.04, right=0.99,
                                   top=0.86, bottom=0.02, wspace=0.3)
        self.ax_in, self.ax_cols, self.ax_out = (self.fig.add_subplot(gs[i]) for i in range(3))
        p = lay.padding
        in_labels = np.full((Hp, Wp), "0", dtype=object)
        in_labels[p[0]:p[0] + H, p[1]:p[1] + W] = np.arange(H * W).reshape(H, W).astype(str)
        pad_mask = np.ones((Hp, Wp), bool)
        pad_mask[p[0]:p[0] + H, p[1]:p[1] + W] = False
        fs = 8 if max(Hp, Wp) <= 9 else 6
        draw_grid(self.ax_in, in_labels, hatched=pad_mask, fontsize=fs,
                  title=f"input x: {H}x{W}\npadding={p[0] if p[0] == p[1] else p} per side")
        mat_labels = np.where(lay.pixel_ids < 0, "0", lay.pixel_ids.astype(str))
        k = lay.kernel_size
        row_labels = [f"({i},{j})" for i in range(k[0]) for j in range(k[1])]
        mfs = max(4, min(8, int(mcell * 26)))
        draw_grid(self.ax_cols, mat_labels, hatched=lay.pixel_ids < 0, fontsize=mfs,
                  row_labels=row_labels if K <= 16 else None,
                  title=f"unfold(x)\n{K} rows x L={L} columns")
        out_labels = np.arange(L).reshape(Ho, Wo).astype(str)
        draw_grid(self.ax_out, out_labels, fontsize=fs, title=f"output\n{Ho}x{Wo}")

        # moving artists (animated: excluded from the cached background)
        edge = dict(edgecolor=PALETTE["edge"], linewidth=2.4, animated=True)
        self._cells = [Rectangle((0, 0), 1, 1, facecolor=PALETTE["block"], alpha=0.55, **edge)
                       for _ in range(K)]
        for rect in self._cells:
            self.ax_in.add_patch(rect)
        self._span = Rectangle((0, 0), 1, 1, fill=False, linestyle="--", edgecolor="black",
                               linewidth=1.2, animated=True)
        self.ax_in.add_patch(self._span)
        self._column = Rectangle((0, 0), 1, K, facecolor=PALETTE["column"], alpha=0.45, **edge)
        self.ax_cols.add_patch(self._column)
        self._out = Rectangle((0, 0), 1, 1, facecolor=PALETTE["output"], alpha=0.45, **edge)
        self.ax_out.add_patch(self._out)
        self._animated = [*self._cells, self._span, self._column, self._out]
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.block = None

    def caption(self, l: int) -> str:
        """Words for block ``l``: which pixels, which column, which output cell."""
        lay = self.layout
        rows, cols = lay.cells[l][:, 0], lay.cells[l][:, 1]
        p = lay.padding
        oh, ow = divmod(l, lay.out_shape[1])
        n_pad = int((lay.pixel_ids[:, l] < 0).sum())
        H, W = lay.input_size
        return (f"block {l} of {lay.L} reads rows {rows.min() - p[0]}..{rows.max() - p[0]} "
                f"(step {lay.dilation[0]}) and columns {cols.min() - p[1]}..{cols.max() - p[1]} "
                f"(step {lay.dilation[1]}) of x -> column {l} of unfold(x) -> output cell "
                f"({oh}, {ow}); {n_pad} of {lay.K} values are padding zeros"
                + (f" (outside rows 0..{H - 1}, columns 0..{W - 1})" if n_pad else ""))

    def show_block(self, l: int) -> str:
        """Move the highlight to block ``l`` (redraws only moving artists); returns the caption."""
        lay = self.layout
        if not 0 <= l < lay.L:
            raise ValueError(f"l={l} is not a block: blocks are numbered 0..{lay.L - 1}")
        for rect, (r, c) in zip(self._cells, lay.cells[l]):
            rect.set_xy((c, r))
        rows, cols = lay.cells[l][:, 0], lay.cells[l][:, 1]
        self._span.set_xy((cols.min(), rows.min()))
        self._span.set_width(cols.max() - cols.min() + 1)
        self._span.set_height(rows.max() - rows.min() + 1)
        self._column.set_x(l)
        oh, ow = divmod(l, lay.out_shape[1])
        self._out.set_xy((ow, oh))
        text = self.caption(l)
        self.canvas.restore_region(self._background)
        for artist in self._animated:
            self.fig.draw_artist(artist)
        self.block = l
        return text

    # the protocol of convlab.widgets.SteppedFigureWidget
    @property
    def n_frames(self) -> int:
        return self.layout.L

    def show(self, i: int) -> str:
        return self.show_block(i)

    def rgba(self) -> np.ndarray:
        """The current frame as an ``(height, width, 4)`` uint8 array."""
        return np.asarray(self.canvas.buffer_rgba())

    def png(self, *, colors=None) -> bytes:
        """The current frame as PNG bytes (``colors``: palette size for small files)."""
        return png_bytes(self.rgba(), colors=colors)
