"""How fast an explorer redraws when a parameter moves (prints numbers; not a test).

A parameter move is what a reader's slider does. In JupyterLab it costs the
kernel's new scene (convlab.scenes, timed here in Python) plus the browser's
drawing of it (convlab/explorer.js, timed here in Chromium on the static
rendering, whose scenes are precomputed); the JupyterLab test
(tests/browser/test_jupyterlab.py) times the whole round trip in a real
JupyterLab. Target: at most 150 ms median. Also printed: Play's latency
(click to first new frame; target 100 ms) and each explorer's static HTML.

    python benchmarks/widgets.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time

from convlab import widgets

MAKERS = widgets.EXPLORERS


def python_scene_ms(explorer, rounds, rng):
    """Median time to build the scene of a parameter set from the live sliders' ranges."""
    cls = type(explorer)
    space = list(itertools.product(*(range(lo, hi + 1) for lo, hi in cls.live.values())))
    times = []
    for params in rng.sample(space, min(rounds, len(space))):
        start = time.perf_counter()
        try:
            cls.build(**dict(zip(cls.live, params)))
        except (ValueError, TypeError):
            pass
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), max(times)


def browser_ms(html_by_name, rounds):
    """Median redraw after a slider move, and Play latency, in Chromium (static rendering)."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, html in html_by_name.items():
            page.set_content(
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>b</title>"
                f"</head><body>{html}</body></html>"
            )
            page.wait_for_function("() => document.querySelector('.convlab-explorer[data-frames]')")
            play = page.evaluate(
                """() => {
                  const root = document.querySelector('.convlab-explorer');
                  const before = root.dataset.frame;
                  const t0 = performance.now();
                  root.querySelector('button[data-act=play]').click();
                  const ms = performance.now() - t0;
                  return root.dataset.frame !== before ? ms : null;
                }"""
            )
            redraws = page.evaluate(
                """(rounds) => new Promise(async (resolve) => {
                  const root = document.querySelector('.convlab-explorer');
                  const sliders = [...root.querySelectorAll('input[data-param]')];
                  const times = [];
                  for (let i = 0; i < rounds; i++) {
                    const s = sliders[i % sliders.length];
                    s.value = (+s.value + 1) % (+s.max + 1);
                    const drawn = new Promise((r) => root.addEventListener('cx-drawn', r,
                                                                           { once: true }));
                    s.dispatchEvent(new Event('input'));
                    await Promise.race([drawn, new Promise((r) => setTimeout(r, 200))]);
                    times.push(+root.dataset.redrawMs);
                  }
                  resolve(times);
                })""",
                rounds,
            )
            out[name] = (statistics.median(redraws), max(redraws), play)
        browser.close()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(0)
    explorers = {m.__name__: m() for m in MAKERS}
    html = {name: e.to_html() for name, e in explorers.items()}
    drawn = browser_ms(html, args.rounds)
    print(
        "| explorer | scene in Python, ms (median, max) | drawing in Chromium, ms (median, max) "
        "| sum of medians | Play to first frame, ms | static HTML, KiB |"
    )
    print("|---|---|---|---|---|---|")
    for name, explorer in explorers.items():
        py, py_max = python_scene_ms(explorer, args.rounds, rng)
        js, js_max, play = drawn[name]
        print(
            f"| {name} | {py:.1f}, {py_max:.1f} | {js:.1f}, {js_max:.1f} | {py + js:.1f} "
            f"| {play:.1f} | {len(html[name]) / 1024:.0f} |"
        )


if __name__ == "__main__":
    main()
