"""convlab/explorer.js on its own: its lookups, its drawing, its controls.

The renderer is loaded into a blank page (no site, no notebook) and given
scenes made by convlab/scenes.py. Its caption and tally rules must give what
the Python rules give (tests/test_scenes.py checks those against torch);
its controls must be usable with a keyboard, a pointer and a screen reader.
"""

from __future__ import annotations

import json
import statistics

import pytest

from convlab import scenes, widgets

SCENES = {
    "sliding": scenes.sliding_blocks(5, 3, stride=2, padding=1),
    "dilated": scenes.sliding_blocks(7, 2, stride=1, padding=2, dilation=3),
    "dilation": scenes.dilation(9, 3),
    "fold": scenes.fold_accumulation(5, 3, stride=1, padding=1),
    "matmul": scenes.matmul(4, 2, padding=1, out_channels=2),
    "transpose": scenes.transpose(3, 3, stride=2, padding=1, output_padding=1),
    # a list of frame labels; frame 1 a tap, then (kernel_size=1) a pixel
    "backward": scenes.backward_pairs(5, 2, stride=3, padding=1),
    "backward-pixel": scenes.backward_pairs(4, 1, stride=2, padding=0),
}


def _page(browser, width=1280, reduced_motion=None):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, reduced_motion=reduced_motion
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>explorer</title>"
        f"<style>{widgets.renderer_css()}</style></head><body><main><div id='root'></div>"
        f"</main><script type='module'>{widgets.renderer_js()}\n"
        "window.cx = { mount, formatCaption, fill, tallies, frameText, cellLabel };</script>"
        "</body></html>"
    )
    page.set_content(html)
    page.wait_for_function("() => window.cx !== undefined")
    return page, errors


def _mount(page, keyed_scenes, initial):
    """Mount an explorer over ``keyed_scenes`` (``"a,b" -> scene | {error}``)."""
    page.evaluate(
        """([scenes, initial]) => {
          const names = Object.keys(initial);
          const values = names.map((n) => [...new Set(Object.keys(scenes).map(
              (k) => parseInt(k.split(",")[names.indexOf(n)], 10)))].sort((a, b) => a - b));
          window.mounted = window.cx.mount(document.getElementById("root"), {
            title: "test explorer",
            controls: names.map((n, i) => ({ name: n, values: values[i] })),
            initial,
            scene: async (params) => scenes[names.map((n) => params[n]).join(",")],
          });
        }""",
        [keyed_scenes, initial],
    )
    page.wait_for_function("() => document.querySelector('#root[data-frames]')")


@pytest.fixture
def blank(browser):
    page, errors = _page(browser)
    yield page
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("name", list(SCENES))
def test_caption_and_tally_rules_match_python(blank, name):
    scene = SCENES[name]
    got = blank.evaluate(
        "(s) => [...Array(s.frames).keys()].map((f) => window.cx.formatCaption(s, f))", scene
    )
    assert got == [scenes.caption(scene, f) for f in range(scene["frames"])]
    got = blank.evaluate(
        "(s) => [...Array(s.frames).keys()].map((f) => window.cx.frameText(s, f))", scene
    )
    assert got == [scenes.frame_text(scene, f) for f in range(scene["frames"])]
    if name == "fold":
        last = scene["frames"] - 1
        tally = blank.evaluate(f"(s) => window.cx.tallies(s, {last})[1]", scene)
        img = scene["panels"][1]
        p = 1
        inside = [
            [tally.get(str((r + p) * img["cols"] + c + p), 0) for c in range(5)] for r in range(5)
        ]
        assert inside == scene["facts"]["divisor"]


def _state(page):
    return page.evaluate(
        """() => {
          const root = document.getElementById("root");
          const play = root.querySelector("button[data-act=play]");
          const frame = root.querySelector("input.cx-frame");
          return {
            frame: parseInt(root.dataset.frame, 10),
            playing: root.dataset.playing,
            pressed: play.getAttribute("aria-pressed"),
            playText: play.textContent,
            playName: play.querySelector("span:not([aria-hidden])").textContent,
            valuetext: frame.getAttribute("aria-valuetext"),
            caption: root.querySelector(".cx-caption").textContent,
            live: root.querySelector(".cx-caption").getAttribute("aria-live"),
            marked: [...root.querySelectorAll("[data-panel=x] rect[data-role=block]")]
              .map((r) => r.dataset.label),
          };
        }"""
    )


def test_controls_step_play_and_describe_each_frame(blank):
    scene = SCENES["sliding"]
    _mount(blank, {"5,3": scene}, {"input_size": 5, "kernel_size": 3})
    s = _state(blank)
    assert s["frame"] == 0 and s["playing"] == "false" and s["pressed"] == "false"
    assert s["valuetext"] == "frame 1 of 9: block l=0" and s["live"] == "polite"
    assert s["caption"] == scenes.caption(scene, 0)
    assert s["marked"] == ["0", "0", "0", "0", "x0", "x1", "0", "x5", "x6"]
    blank.click("button[data-act=next]")
    assert _state(blank)["valuetext"] == "frame 2 of 9: block l=1"
    blank.click("button[data-act=prev]")
    blank.click("button[data-act=prev]")
    assert _state(blank)["frame"] == 8  # Back from the first frame wraps to the last
    blank.click("button[data-act=first]")
    assert _state(blank)["frame"] == 0
    blank.focus("input.cx-frame")
    blank.keyboard.press("ArrowRight")
    assert _state(blank)["caption"] == scenes.caption(scene, 1)
    # Play: the first step happens at once, and the button says it is playing
    blank.click("button[data-act=play]")
    s = _state(blank)
    # a toggle keeps its name; it shows a pause sign, and the caption stops talking
    assert s["frame"] == 2 and s["pressed"] == "true" and s["playName"] == "Play"
    assert "⏸" in s["playText"] and s["live"] == "off"
    blank.wait_for_function("() => document.getElementById('root').dataset.frame === '3'")
    blank.click("button[data-act=play]")
    s = _state(blank)
    stopped = s["frame"]
    assert s["pressed"] == "false" and "▶" in s["playText"] and s["live"] == "polite"
    blank.wait_for_timeout(1100)
    assert _state(blank)["frame"] == stopped


def test_a_highlighted_padding_cell_keeps_its_hatching(blank):
    """notation.md: padding is "hatched with a dashed border", also under a highlight."""
    _mount(blank, {"5,3": SCENES["sliding"]}, {"input_size": 5, "kernel_size": 3})
    marks = blank.evaluate(
        """() => [...document.querySelectorAll("[data-panel=x] rect[data-role=block]")]
          .map((r) => { const s = getComputedStyle(r);
            return [r.dataset.label, r.classList.contains("cx-mark-pad"),
                    parseFloat(s.fillOpacity), s.strokeDasharray]; })"""
    )
    assert [m[0] for m in marks] == ["0", "0", "0", "0", "x0", "x1", "0", "x5", "x6"]
    for label, on_pad, opacity, dashes in marks:
        if label == "0":  # padding: the hatching shows through, the border is dashed
            assert on_pad and opacity < 0.7 and dashes not in ("", "none")
        else:  # a pixel: an opaque highlight with a solid border
            assert not on_pad and opacity == 1 and dashes in ("", "none")
    # the column of unfold(x) is one rectangle: its 5 padding zeros get a hatched overlay
    over = blank.evaluate(
        "() => document.querySelectorAll('[data-panel=cols] .cx-pad-over').length"
    )
    assert over == 5


def test_play_changes_the_frame_within_100_ms(blank):
    _mount(blank, {"5,3": SCENES["fold"]}, {"input_size": 5, "kernel_size": 3})
    times = []
    for _ in range(7):
        ms = blank.evaluate(
            """() => new Promise((resolve) => {
              const root = document.getElementById("root");
              const before = root.dataset.frame;
              const play = root.querySelector("button[data-act=play]");
              const t0 = performance.now();
              play.click();
              const check = () => root.dataset.frame !== before
                ? resolve(performance.now() - t0) : requestAnimationFrame(check);
              check();
            })"""
        )
        times.append(ms)
        blank.click("button[data-act=play]")  # pause again
    print(
        f"\nPlay to first new frame: median {statistics.median(times):.1f} ms "
        f"(max {max(times):.1f} ms)"
    )
    assert statistics.median(times) <= 100


def test_reduced_motion_starts_paused(browser):
    page, errors = _page(browser, reduced_motion="reduce")
    _mount(page, {"5,3": SCENES["sliding"]}, {"input_size": 5, "kernel_size": 3})
    page.wait_for_timeout(1200)
    s = _state(page)
    assert s["playing"] == "false" and s["frame"] == 0 and s["pressed"] == "false"
    assert errors == []
    page.context.close()


def test_parameters_switch_scenes_and_errors_say_why(blank):
    keyed = {
        "5,3": SCENES["sliding"],
        "5,2": scenes.sliding_blocks(5, 2),
        "5,4": {"error": "kernel_size=4 does not fit"},
    }
    _mount(blank, keyed, {"input_size": 5, "kernel_size": 3})
    slider = blank.locator("input[data-param=kernel_size]")
    assert slider.get_attribute("aria-valuetext") == "3"
    blank.focus("input[data-param=kernel_size]")
    blank.keyboard.press("ArrowLeft")
    blank.wait_for_function("() => document.getElementById('root').dataset.frames === '16'")
    assert slider.get_attribute("aria-valuetext") == "2"
    assert blank.locator(".cx-error").is_hidden()
    blank.keyboard.press("ArrowRight")
    blank.keyboard.press("ArrowRight")
    blank.wait_for_function("() => document.getElementById('root').dataset.error === 'true'")
    error = blank.locator(".cx-error")
    assert error.is_visible() and error.get_attribute("role") == "alert"
    assert "kernel_size=4 does not fit" in error.inner_text()
    # nothing of the last drawing stays, and the frame controls wait for a drawing
    assert blank.locator(".cx-figure svg").count() == 0
    assert blank.locator(".cx-caption").inner_text() == ""
    assert blank.locator("#root").get_attribute("data-frames") == "0"
    for act in ("first", "prev", "play", "next"):
        assert blank.locator(f"button[data-act={act}]").is_disabled()
    blank.keyboard.press("ArrowLeft")
    blank.wait_for_function("() => document.getElementById('root').dataset.error === 'false'")
    assert blank.locator(".cx-figure svg").count() == 3
    assert blank.locator("button[data-act=next]").is_enabled()


def test_every_control_is_labelled_by_its_visible_text_and_44_px(browser):
    for width in (1280, 390):
        page, errors = _page(browser, width=width)
        _mount(page, {"5,3": SCENES["transpose"]}, {"input_size": 5, "kernel_size": 3})
        controls = page.evaluate(
            """() => [...document.querySelectorAll('#root button, #root input')].map((el) => {
              const r = el.getBoundingClientRect();
              const label = el.labels && el.labels[0] ? el.labels[0].textContent : null;
              return { tag: el.tagName, text: el.textContent, label,
                       aria: el.getAttribute('aria-label'), w: r.width, h: r.height };
            })"""
        )
        for c in controls:
            assert c["h"] >= 44 and c["w"] >= 44, c
            if c["tag"] == "BUTTON":
                assert c["aria"] is None and c["text"].strip(), c  # its name is its text
            else:
                assert c["label"], c  # every slider has a visible <label>
        assert errors == []
        page.context.close()


@pytest.mark.parametrize("width, smallest", [(1280, 11), (390, 9)])
def test_text_is_large_and_dark_on_every_fill(browser, width, smallest):
    page, errors = _page(browser, width=width)
    report = []
    for name, scene in SCENES.items():
        _mount(page, {"5,3": scene}, {"input_size": 5, "kernel_size": 3})
        page.click("button[data-act=next]")
        found = page.evaluate(
            """() => {
              const lum = (rgb) => {
                const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map((v) => {
                  v = v / 255;
                  return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
              };
              let minPx = 1e9, minContrast = 1e9, worst = null;
              for (const t of document.querySelectorAll('#root svg text')) {
                const px = t.getBoundingClientRect().height
                  && parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
                if (!t.textContent) continue;
                minPx = Math.min(minPx, px);
                // what is under the text: the topmost filled rect at its centre
                const b = t.getBBox();
                const x = b.x + b.width / 2, y = b.y + b.height / 2;
                const svg = t.ownerSVGElement;
                let under = 'rgb(255, 255, 255)';
                for (const r of svg.querySelectorAll('rect')) {
                  const rx = +r.getAttribute('x'), ry = +r.getAttribute('y');
                  if (x < rx || y < ry || x > rx + +r.getAttribute('width')
                      || y > ry + +r.getAttribute('height')) continue;
                  const fill = getComputedStyle(r).fill;
                  if (fill.startsWith('rgb')) under = fill;
                  else if (fill.startsWith('url')) under = 'rgb(176, 176, 176)'; // hatch lines
                }
                const a = lum(getComputedStyle(t).fill), u = lum(under);
                const c = (Math.max(a, u) + 0.05) / (Math.min(a, u) + 0.05);
                if (c < minContrast) { minContrast = c; worst = t.textContent; }
              }
              return { minPx, minContrast, worst };
            }"""
        )
        report.append((name, found))
    for name, found in report:
        print(
            f"\n{width} px {name}: smallest text {found['minPx']:.1f} px, "
            f"lowest contrast {found['minContrast']:.2f}:1 ({found['worst']})"
        )
        assert found["minPx"] >= smallest
        assert found["minContrast"] >= 4.5, (name, found)
    assert errors == []
    page.context.close()


def test_static_payload_mounts_from_the_page(browser):
    page, errors = _page(browser)
    explorer = widgets.sliding_blocks(5, 3, stride=2, padding=1)
    page.set_content(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>t</title></head>"
        f"<body>{explorer.to_html()}</body></html>"
    )
    page.wait_for_function("() => document.querySelector('.convlab-explorer[data-frames]')")
    assert page.locator(".cx-fallback").count() == 0  # replaced by the live explorer
    caption = page.locator(".cx-caption").inner_text()
    assert caption == scenes.caption(explorer.scene, 0)
    facts = json.loads(page.locator(".convlab-explorer").get_attribute("data-facts"))
    assert facts == explorer.scene["facts"]
    assert errors == []
    page.context.close()
