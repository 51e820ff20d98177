"""Live widgets with a static twin: one cell, two renderings.

A widget here is a thin wrapper around a figure object from ``convlab.draw``
that has ``n_frames``, ``show(i) -> caption`` and ``png()``:

- in a running Jupyter kernel it displays as ipywidgets: a slider per
  parameter, a Play control and a step slider, and the figure as an image
  whose frame is redrawn (blitted) on every step;
- the same display also carries a ``text/html`` rendering: a self-contained
  animation (every frame embedded as a PNG, plain JavaScript, no server, no
  external file) with First / Step back / Play / Pause / Step controls and a
  caption that states in words what each frame shows. The static site prefers
  it (``nb_mime_priority_overrides`` in ``_config.yml``), and ``make outputs``
  keeps only it in the committed notebooks, so a notebook opened before it is
  run shows the first frame rather than a missing widget.

Taught alongside chapter 1 (``notebooks/01_sliding_blocks.ipynb``); see
CONTRIBUTING.md, "Adding a widget".
"""

from __future__ import annotations

import base64
import hashlib
import html
import json

from . import draw

__all__ = [
    "animation_html",
    "SteppedFigureWidget",
    "SlidingBlocks",
    "sliding_blocks",
    "Dilation",
    "dilation",
    "FoldAccumulation",
    "fold_accumulation",
    "MatmulView",
    "matmul_view",
    "TransposeViews",
    "transpose_views",
]

_BUTTON = (
    "font: inherit; font-size: 0.9em; padding: 2px 9px; margin: 0 3px 0 0; "
    "border: 1px solid #555; border-radius: 3px; background: #f4f4f4; color: #111; "
    "cursor: pointer;"
)


def animation_html(frames, captions, *, title, interval_ms=800) -> str:
    """A self-contained HTML animation of PNG ``frames`` with play, pause and step.

    ``captions[i]`` describes frame ``i`` in words; it is shown under the image
    and used as the image's alt text, so the animation reads without colour
    and without sight. The first frame is a plain ``<img>``, so the picture
    survives where scripts do not run; the controls are hidden until the
    script shows them, so they never appear where they cannot work. The
    element's ``data-frame`` attribute holds the current frame (the browser
    tests read it). The id is derived from the content, so re-running a
    notebook gives identical HTML.
    """
    if len(frames) != len(captions) or not frames:
        raise ValueError("animation_html needs one caption per frame and at least one frame")
    encoded = [base64.b64encode(f).decode("ascii") for f in frames]
    digest = hashlib.sha1("".join(encoded).encode() + title.encode()).hexdigest()[:10]
    uid = f"convlab-anim-{digest}"
    n = len(frames)
    first_alt = html.escape(f"{title}. {captions[0]}", quote=True)
    buttons = "".join(
        f'<button type="button" data-act="{act}" style="{_BUTTON}" '
        f'aria-label="{label}">{text}</button>'
        for act, text, label in [
            ("first", "|&#9664;", "first frame"),
            ("prev", "&#9664; Step", "previous frame"),
            ("play", "Play &#9654;", "play"),
            ("pause", "Pause", "pause"),
            ("next", "Step &#9654;", "next frame"),
        ]
    )
    script = f"""
(function() {{
  var root = document.getElementById({json.dumps(uid)});
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  // the controls only appear where this script runs (not in an untrusted notebook)
  root.querySelector(".convlab-anim-controls").style.display = "flex";
  var frames = {json.dumps(encoded)};
  var captions = {json.dumps(captions)};
  var title = {json.dumps(title)};
  var img = root.querySelector("img");
  var cap = root.querySelector(".convlab-anim-caption");
  var slider = root.querySelector("input[type=range]");
  var counter = root.querySelector(".convlab-anim-counter");
  var i = 0, timer = null;
  function show(k) {{
    i = (k + frames.length) % frames.length;
    img.src = "data:image/png;base64," + frames[i];
    img.alt = title + ". " + captions[i];
    cap.textContent = captions[i];
    counter.textContent = "frame " + (i + 1) + " / " + frames.length;
    slider.value = i;
    root.setAttribute("data-frame", i);
  }}
  function pause() {{
    if (timer) clearInterval(timer);
    timer = null;
    root.setAttribute("data-playing", "false");
  }}
  function play() {{
    if (timer) return;
    timer = setInterval(function() {{ show(i + 1); }}, {int(interval_ms)});
    root.setAttribute("data-playing", "true");
  }}
  var act = {{
    first: function() {{ pause(); show(0); }},
    prev: function() {{ pause(); show(i - 1); }},
    next: function() {{ pause(); show(i + 1); }},
    play: play,
    pause: pause
  }};
  root.querySelectorAll("button[data-act]").forEach(function(b) {{
    b.addEventListener("click", act[b.getAttribute("data-act")]);
  }});
  slider.addEventListener("input", function() {{ pause(); show(parseInt(slider.value, 10)); }});
}})();
"""
    return (
        f'<div class="convlab-anim" id="{uid}" data-frame="0" data-frames="{n}" '
        f'data-playing="false" role="group" aria-label="{html.escape(title, quote=True)}" '
        f'style="margin: 0.5em 0;">\n'
        f'<img src="data:image/png;base64,{encoded[0]}" alt="{first_alt}" '
        f'style="max-width: 100%; height: auto; display: block;">\n'
        f'<div class="convlab-anim-controls" style="margin-top: 4px; display: none; '
        f'flex-wrap: wrap; align-items: center; gap: 4px;">{buttons}'
        f'<input type="range" min="0" max="{n - 1}" value="0" step="1" '
        f'aria-label="frame" style="flex: 1 1 120px; min-width: 100px;">'
        f'<span class="convlab-anim-counter" style="font-size: 0.85em;">frame 1 / {n}</span>'
        f'</div>\n<p class="convlab-anim-caption" style="font-size: 0.9em; margin: 4px 0 0 0;">'
        f"{html.escape(captions[0])}</p>\n"
        f"<script>{script}</script>\n</div>"
    )


class SteppedFigureWidget:
    """Base of the book's widgets: parameters + a stepped figure, live or static.

    Subclasses set ``title``, ``controls`` (``name -> (min, max)`` for an
    integer slider per parameter) and ``figure_class``, a ``convlab.draw``
    figure taking those parameters by name and providing ``n_frames``,
    ``show(i) -> caption`` and ``png(colors=None)``. ``max_frames`` caps the
    static animation (evenly spaced frames, the last one included).
    """

    title = "figure"
    controls: dict = {}
    figure_class = None  # set by each subclass
    interval_ms = 800
    max_frames = 49
    png_colors = 32  # palette size of the static frames (small files)

    def __init__(self, **params):
        self.params = params
        self.figure = self.make_figure(**params)
        self._widget = None

    def make_figure(self, **params):
        return self.figure_class(**params)

    # ---- static twin -------------------------------------------------------
    def frame_indices(self):
        n = self.figure.n_frames
        if n <= self.max_frames:
            return list(range(n))
        step = (n - 1) / (self.max_frames - 1)
        return sorted({round(i * step) for i in range(self.max_frames)})

    def to_html(self) -> str:
        """The self-contained animation (the static site's rendering)."""
        frames, captions = [], []
        for i in self.frame_indices():
            captions.append(self.figure.show(i))
            frames.append(self.figure.png(colors=self.png_colors))
        self.figure.show(0)
        return animation_html(frames, captions, title=self.describe(), interval_ms=self.interval_ms)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.title} ({shown})"

    def __repr__(self):
        return f"<{type(self).__name__}: {self.describe()}, {self.figure.n_frames} frames>"

    # ---- live widget ---------------------------------------------------------
    def widget(self):
        """The live ipywidgets view (built once, on first use)."""
        if self._widget is None:
            self._widget = self._build_widget()
        return self._widget

    def _build_widget(self):
        import ipywidgets as w

        self._image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self._image.description = self.describe()
        self._caption = w.HTML()
        self._message = w.HTML("")
        style = {"description_width": "initial"}
        self._sliders = {
            name: w.IntSlider(
                value=self.params[name],
                min=lo,
                max=hi,
                description=name,
                continuous_update=False,
                style=style,
                layout=w.Layout(width="220px"),
            )
            for name, (lo, hi) in self.controls.items()
        }
        for slider in self._sliders.values():
            slider.observe(self._on_param, names="value")
        n = self.figure.n_frames
        self._step = w.IntSlider(
            value=0,
            min=0,
            max=n - 1,
            description="step",
            style=style,
            layout=w.Layout(width="320px"),
        )
        self._play = w.Play(
            value=0,
            min=0,
            max=n - 1,
            interval=self.interval_ms,
            description="Play",
            show_repeat=True,
        )
        w.jslink((self._play, "value"), (self._step, "value"))
        self._step.observe(self._on_step, names="value")
        self._render(0)
        box = w.VBox(
            [
                w.HBox(list(self._sliders.values()), layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self._play, self._step]),
                self._message,
                self._image,
                self._caption,
            ]
        )
        box.add_class("convlab-widget")
        return box

    def _render(self, i):
        """Show frame ``i`` live: blit the moving artists, send the PNG and caption."""
        caption = self.figure.show(i)
        self._image.value = self.figure.png()
        self._caption.value = html.escape(caption)

    def _on_step(self, change):
        self._render(change["new"])

    def _on_param(self, change):
        params = dict(self.params)
        params.update({name: s.value for name, s in self._sliders.items()})
        try:
            figure = self.make_figure(**params)
        except (ValueError, TypeError) as err:
            self._message.value = (
                f"<span style='color:#8B0000'><b>Not drawn:</b> {html.escape(str(err))}</span>"
            )
            return
        self._message.value = ""
        self.params, self.figure = params, figure
        self._image.description = self.describe()
        n = figure.n_frames
        self._play.max = self._step.max = n - 1
        if self._step.value == 0:
            self._render(0)
        else:
            self._step.value = 0  # triggers _on_step

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self), "text/html": self.to_html()}
        try:
            view = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no kernel / no ipywidgets frontend: the static twin alone
            view = None
        if view:
            bundle.update({k: v for k, v in view.items() if k != "text/plain"})
        return bundle


class SlidingBlocks(SteppedFigureWidget):
    """Step through the blocks of ``unfold``: input, unfolded matrix and output.

    Sliders: ``input_size`` (square), ``kernel_size``, ``stride``, ``padding``
    and ``dilation``; each step highlights one block of the padded input, its
    column of the unfolded matrix, and its output cell.
    """

    title = "Sliding blocks of unfold"
    controls = {
        "input_size": (3, 9),
        "kernel_size": (1, 5),
        "stride": (1, 4),
        "padding": (0, 3),
        "dilation": (1, 3),
    }

    figure_class = draw.SlidingBlocksFigure


def sliding_blocks(input_size=5, kernel_size=3, stride=1, padding=1, dilation=1):
    """The sliding-blocks widget (live in Jupyter, an animation in the static site).

    The number of steps is ``L = prod floor((in + 2p - d(k-1) - 1)/s) + 1``.
    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    return SlidingBlocks(
        input_size=input_size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


class Dilation(SteppedFigureWidget):
    """One block's footprint spreading as ``dilation`` grows (each step: dilation + 1)."""

    title = "Dilation spreads a block"
    controls = {"input_size": (5, 13), "kernel_size": (2, 5)}
    interval_ms = 1100

    figure_class = draw.DilationFigure


def dilation(input_size=9, kernel_size=3):
    """The dilation widget: the receptive field ``dilation*(kernel_size-1)+1`` as dilation grows.

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    return Dilation(input_size=input_size, kernel_size=kernel_size)


class FoldAccumulation(SteppedFigureWidget):
    """fold adding the blocks back one at a time, with the running overlap count."""

    title = "fold adds the blocks back"
    controls = {
        "input_size": (3, 8),
        "kernel_size": (1, 4),
        "stride": (1, 4),
        "padding": (0, 2),
        "dilation": (1, 3),
    }

    figure_class = draw.FoldAccumulationFigure


def fold_accumulation(input_size=5, kernel_size=3, stride=2, padding=0, dilation=1):
    """The fold widget: each step adds one column back; the counts end as ``fold_divisor``.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    return FoldAccumulation(
        input_size=input_size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


class MatmulView(SteppedFigureWidget):
    """Convolution as ``weight @ cols``: each step is one output pixel."""

    title = "Convolution as a matrix multiplication"
    controls = {
        "input_size": (2, 6),
        "kernel_size": (1, 3),
        "stride": (1, 3),
        "padding": (0, 2),
        "dilation": (1, 2),
        "out_channels": (1, 3),
    }

    figure_class = draw.MatmulFigure


def matmul_view(input_size=4, kernel_size=2, stride=1, padding=0, dilation=1, out_channels=2):
    """The matmul-view widget: an output pixel, its weight row, its column, its block.

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
    )


class TransposeViews(SteppedFigureWidget):
    """Transposed convolution, scatter and gather side by side, one output pixel per step."""

    title = "Transposed convolution: scatter and gather"
    controls = {
        "input_size": (2, 4),
        "kernel_size": (1, 4),
        "stride": (1, 3),
        "padding": (0, 3),
        "output_padding": (0, 2),
        "dilation": (1, 2),
    }

    figure_class = draw.TransposeFigure


def transpose_views(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=0, dilation=1):
    """The transposed-convolution widget: scatter (stamps) and gather (rotated kernel).

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
