"""The explorers' two renderings: the static site's HTML and the live anywidget."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest

from convlab import scenes, widgets

MAKERS = widgets.EXPLORERS


def _payload(html):
    data = re.search(
        r'<script type="application/octet-stream" class="cx-data">(.*?)</script>', html, re.S
    ).group(1)
    return json.loads(gzip.decompress(base64.b64decode(data)))


@pytest.mark.parametrize("make", MAKERS, ids=lambda m: m.__name__)
def test_static_rendering_embeds_the_grid_and_the_renderer(make):
    explorer = make()
    html = explorer.to_html()
    assert html == make().to_html()  # deterministic: re-running a notebook changes nothing
    assert widgets.renderer_js() in html and widgets.renderer_css() in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    data = _payload(html)
    names = [c["name"] for c in data["controls"]]
    assert names == list(type(explorer).grid)
    key = ",".join(str(explorer.params[n]) for n in names)
    assert data["scenes"][key] == json.loads(json.dumps(explorer.scene))
    assert data["initial"] == explorer.params
    for c in data["controls"]:
        assert explorer.params[c["name"]] in c["values"]  # the explorer's own values are there
    errors = [s for s in data["scenes"].values() if "error" in s]
    assert all(0 <= s["error"] < len(data["errors"]) for s in errors)
    # a reader sees the first frame's words even where no script runs
    assert scenes.caption(explorer.scene, 0).split(" ")[0] in html


def test_static_page_weight_stays_small():
    sizes = {m.__name__: len(m().to_html()) for m in MAKERS}
    print(sizes)
    assert max(sizes.values()) < 400_000


@pytest.mark.parametrize("make", MAKERS, ids=lambda m: m.__name__)
def test_live_widget_recomputes_the_scene_or_says_why_not(make):
    explorer = make()
    w = explorer.widget()
    assert w.result["scene"] == explorer.scene
    assert [c["name"] for c in w.controls] == list(type(explorer).live)
    for c in w.controls:
        lo, hi = type(explorer).live[c["name"]]
        assert c["values"] == list(range(lo, hi + 1))
    params = dict(explorer.params, kernel_size=1)
    w.request = {"id": "a", "params": params}
    assert w.result["id"] == "a"
    assert w.result["scene"] == type(explorer).build(**params)
    w.request = {"id": "b", "params": params}  # the same parameters again: answered again
    assert w.result["id"] == "b"
    if "output_padding" in explorer.params:
        bad, name = dict(stride=1, dilation=1, output_padding=2), "output_padding"
    else:
        bad, name = dict(kernel_size=20), "kernel_size"
    w.request = {"id": "c", "params": dict(explorer.params, **bad)}
    assert w.result["id"] == "c" and "scene" not in w.result and name in w.result["error"]


def test_bundle_has_static_html_and_widget_view():
    bundle = widgets.sliding_blocks()._repr_mimebundle_()
    assert {"text/plain", "text/html"} <= set(bundle)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<SlidingBlocks: unfold with kernel_size=3")


@pytest.mark.parametrize(
    "make, bad, message",
    [
        (widgets.sliding_blocks, dict(kernel_size=0), "kernel_size"),
        (widgets.sliding_blocks, dict(stride=1.5), "stride"),
        (widgets.transpose_views, dict(output_padding=2, stride=2), "output_padding"),
        (widgets.matmul_view, dict(out_channels=0), "out_channels"),
        (widgets.dilation, dict(kernel_size=12), "kernel_size"),
        (widgets.backward_pairs, dict(stride=0), "stride"),
        (widgets.backward_pairs, dict(kernel_size=3, dilation=4), "dilation=4"),
    ],
)
def test_bad_parameters_raise_convlab_errors(make, bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(**bad)
