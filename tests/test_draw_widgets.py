"""The drawing functions and the widgets, called directly (no browser)."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab import draw, widgets


def test_block_layout_agrees_with_torch_unfold():
    lay = draw.block_layout((5, 6), (2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 1))
    x = (torch.arange(30.0) + 1).view(1, 1, 5, 6)
    expected = F.unfold(x, (2, 3), (2, 1), (1, 0), (2, 1))[0].long().numpy() - 1
    assert np.array_equal(lay.pixel_ids, expected)
    assert lay.L == lay.pixel_ids.shape[1] == lay.out_shape[0] * lay.out_shape[1]
    # every block's cells, read in the padded image, are the pixels of its column
    H, W = lay.input_size
    for l in range(lay.L):
        for (r, c), pid in zip(lay.cells[l], lay.pixel_ids[:, l]):
            r, c = r - lay.padding[0], c - lay.padding[1]
            inside = 0 <= r < H and 0 <= c < W
            assert pid == (r * W + c if inside else -1)


def test_block_layout_reports_bad_parameters():
    with pytest.raises(ValueError, match="kernel larger than padded input"):
        draw.block_layout(3, 5)


def test_figure_frames_change_and_captions_describe_them():
    fig = draw.SlidingBlocksFigure(5, 3, stride=2, padding=1)
    assert fig.n_frames == 9
    first = fig.show(0)
    a = fig.rgba().copy()
    last = fig.show(8)
    b = fig.rgba().copy()
    assert not np.array_equal(a, b), "moving the block did not change the picture"
    assert first.startswith("block 0 of 9 reads rows -1..1")
    assert "5 of 9 values are padding zeros" in first
    assert "output cell (2, 2)" in last
    with pytest.raises(ValueError, match=r"blocks are numbered 0\.\.8"):
        fig.show(9)
    png = fig.png(colors=32)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_static_twin_is_self_contained_and_deterministic():
    html = widgets.sliding_blocks(input_size=4, kernel_size=2, stride=2, padding=0).to_html()
    again = widgets.sliding_blocks(input_size=4, kernel_size=2, stride=2, padding=0).to_html()
    assert html == again
    assert 'data-frames="4"' in html
    for act in ("first", "prev", "play", "pause", "next"):
        assert f'data-act="{act}"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the animation loads something"
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="[^"]{20,}"', html)


def test_widget_bundle_has_static_twin_and_live_view():
    w = widgets.sliding_blocks()
    bundle = w._repr_mimebundle_()
    assert {"text/plain", "text/html"} <= set(bundle)
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_live_widget_steps_and_rebuilds():
    w = widgets.sliding_blocks(input_size=5, kernel_size=3, stride=1, padding=1)
    w.widget()
    before = w._image.value
    w._step.value = 3
    assert w._image.value != before
    assert w._caption.value.startswith("block 3 of 25")
    w._sliders["stride"].value = 2  # a new figure with 9 blocks
    assert w._step.max == 8 and w._step.value == 0
    w._sliders["input_size"].value = 3
    w._sliders["kernel_size"].value = 5
    w._sliders["padding"].value = 0
    assert "Not drawn" in w._message.value and "kernel larger than padded input" in w._message.value
    w._sliders["padding"].value = 1
    assert w._message.value == ""


def test_animation_html_rejects_mismatched_captions():
    with pytest.raises(ValueError, match="one caption per frame"):
        widgets.animation_html([b"x"], [], title="t")


def test_wide_matrices_go_below_input_and_output():
    narrow = draw.SlidingBlocksFigure(5, 3, stride=2, padding=1)
    wide = draw.SlidingBlocksFigure(5, 3, padding=1)  # L = 25
    assert narrow.rgba().shape[1] > narrow.rgba().shape[0]  # one row of three panels
    box_in, box_cols = wide.ax_in.get_position(), wide.ax_cols.get_position()
    assert box_cols.y1 < box_in.y0, "the matrix should sit below the input"
    assert wide.rgba().shape[1] <= 9.5 * 88


def test_dilation_figure_spreads_the_taps():
    fig = draw.DilationFigure(9, 3)
    assert fig.n_frames == 4  # dilation 1..4 fits a 9x9 input with a 3x3 kernel
    frames = []
    for i in range(fig.n_frames):
        caption = fig.show(i)
        assert f"dilation={i + 1}" in caption
        assert f"{(i + 1) * 2 + 1} x {(i + 1) * 2 + 1} pixels" in caption
        frames.append(fig.rgba().copy())
    assert not np.array_equal(frames[0], frames[-1])
    assert draw.DilationFigure(5, 1).n_frames == 1
    with pytest.raises(ValueError, match="kernel larger than padded input"):
        draw.DilationFigure(3, 4)


def test_fold_accumulation_ends_at_the_divisor():
    import convlab

    fig = draw.FoldAccumulationFigure(5, 3, stride=2, padding=1)
    last = fig.n_frames - 1
    caption = fig.show(last)
    assert "fold_divisor" in caption
    p = 1
    inside = fig._counts[last][p : p + 5, p : p + 5]
    assert np.array_equal(inside, convlab.fold_divisor(5, 3, stride=2, padding=1).long().numpy())
    first = fig.show(0)
    assert first.startswith("after block 0 (1 of 9 added)")


def test_divisor_picture_describes_counts_and_zeros():
    pic = draw.divisor_picture((5, 5), [dict(kernel_size=2, stride=3)])
    assert "rows: 1 1 0 1 1 / 1 1 0 1 1 / 0 0 0 0 0 / 1 1 0 1 1 / 1 1 0 1 1" in pic.alt
    assert "9 uncovered pixels" in pic.alt
    data, meta = pic._repr_mimebundle_()
    assert meta["image/png"]["alt"] == pic.alt
    assert data["text/plain"].startswith("[figure] Divisor")


def test_every_widget_has_a_static_twin_and_live_controls():
    for w in (widgets.dilation(), widgets.fold_accumulation(), widgets.sliding_blocks()):
        html = w.to_html()
        assert f'data-frames="{w.figure.n_frames}"' in html
        view = w.widget()
        assert set(w._sliders) == set(w.controls)
        w._step.value = 1
        assert w._caption.value
        assert view is w.widget()
