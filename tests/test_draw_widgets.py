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
    with pytest.raises(ValueError, match="blocks are numbered 0..8"):
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
    assert "Not drawn" in w._message.value and "kernel larger than padded input" in \
        w._message.value
    w._sliders["padding"].value = 1
    assert w._message.value == ""


def test_animation_html_rejects_mismatched_captions():
    with pytest.raises(ValueError, match="one caption per frame"):
        widgets.animation_html([b"x"], [], title="t")
