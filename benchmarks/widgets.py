"""Median time of one live widget frame update (prints numbers; not a test).

An update is what a slider step or a Play tick does in Jupyter: move the
highlight (restore the cached background, redraw only the moving artists),
encode the PNG, and set the image widget's value. Target: at most 30 ms.
Rebuilding the figure (a parameter slider moved) is timed too, for contrast.

    python benchmarks/widgets.py [--rounds 60]
"""

from __future__ import annotations

import argparse
import statistics
import time

from convlab import draw, widgets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    cases = [
        dict(input_size=5, kernel_size=3, stride=1, padding=1, dilation=1),
        dict(input_size=9, kernel_size=3, stride=1, padding=2, dilation=2),
    ]
    print(f"| {'widget parameters':<62} | frames | update ms (median, p90) | rebuild ms |")
    print(f"|{'-' * 64}|--------|-------------------------|------------|")
    for params in cases:
        w = widgets.sliding_blocks(**params)
        w.widget()
        n = w.figure.n_frames
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            w._step.value = (w._step.value + 1) % n
            times.append(time.perf_counter() - start)
        times.sort()
        rebuild = []
        for _ in range(5):
            start = time.perf_counter()
            draw.SlidingBlocksFigure(**params)
            rebuild.append(time.perf_counter() - start)
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        print(
            f"| {shown:<62} | {n:6d} | {statistics.median(times) * 1e3:10.1f}, "
            f"{times[int(0.9 * len(times))] * 1e3:10.1f} | "
            f"{statistics.median(rebuild) * 1e3:10.1f} |"
        )


if __name__ == "__main__":
    main()
