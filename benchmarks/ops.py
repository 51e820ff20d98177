"""Time convlab's lowered ops against torch's native ones (prints a table; not a test).

Every row times convlab and the native op *interleaved* in one run (a turn of
each per round, many rounds; each turn an untimed call, then a timed one: see
``convlab.bench``) and reports medians, so both see the same machine load; the
ratio is what to read. Every case runs in a fresh Python process: the memory
allocator's state after one case (tens of MB freed) would otherwise change the
next case's timings by up to 2x.

Then times forward plus backward (training: chapter 5's backward, against
torch's autograd) the same way, and measures the memory of one forward plus
backward pass: the growth of peak resident memory (``VmHWM``, reset through
``/proc/self/clear_refs``) over the resident memory just before it, taken
after import, one small warm-up pass and allocating the inputs and the output
gradient (its shape from a forward on meta tensors: no full-size pass runs
before the measured one), in a fresh process for each measurement (convlab
and torch alternate; the median of ``--mem-runs`` processes each). This is
the first pass's growth with glibc's default malloc: torch's varies between
processes (about 75 or 100-125 MiB for the first row), so read the median.

Also prints the size of the unfolded matrix against the input, and how many of
the rot90 method's multiply-adds land on inserted zeros compared with the fold
(col2im) method.

    python benchmarks/ops.py [--rounds 15] [--threads 2] [--mem-runs 5] [--only train]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys

import torch
import torch.nn.functional as F

import convlab
from convlab.bench import interleaved

CONV_CASES = [
    ("N=8 C=64->64 56x56 k=3 s=1 p=1", (8, 64, 56, 56), (64, 64, 3, 3), dict(stride=1, padding=1)),
    ("N=8 C=64->64 56x56 k=3 s=2 p=1", (8, 64, 56, 56), (64, 64, 3, 3), dict(stride=2, padding=1)),
    (
        "N=4 C=32->32 224x224 k=3 d=2 s=2",
        (4, 32, 224, 224),
        (32, 32, 3, 3),
        dict(stride=2, dilation=2),
    ),
    (
        "N=8 C=64 56x56 k=3 depthwise (groups=64)",
        (8, 64, 56, 56),
        (64, 1, 3, 3),
        dict(padding=1, groups=64),
    ),
]
TCONV_CASES = [
    (
        "N=8 C=64->32 28x28->56x56 k=4 s=2 p=1",
        (8, 64, 28, 28),
        (64, 32, 4, 4),
        dict(stride=2, padding=1),
    ),
    ("N=8 C=64->32 28x28->57x57 k=3 s=2 op=0", (8, 64, 28, 28), (64, 32, 3, 3), dict(stride=2)),
]


# forward plus backward: (label, op, input shape, weight shape, kwargs); the
# first row is issue 13's target (memory at most 1.5x torch's, time 2.5x)
TRAIN_CASES = [
    (
        "conv2d N=32 C=64->64 56x56 k=3 p=1",
        "conv2d",
        (32, 64, 56, 56),
        (64, 64, 3, 3),
        dict(padding=1),
    ),
    (
        "conv2d N=8 C=64->64 56x56 k=3 s=2 p=1",
        "conv2d",
        (8, 64, 56, 56),
        (64, 64, 3, 3),
        dict(stride=2, padding=1),
    ),
    (
        "conv2d N=8 C=64 56x56 k=3 depthwise",
        "conv2d",
        (8, 64, 56, 56),
        (64, 1, 3, 3),
        dict(padding=1, groups=64),
    ),
    (
        "conv_transpose2d fold N=8 C=64->32 28->56 k=4 s=2 p=1",
        "conv_transpose2d:fold",
        (8, 64, 28, 28),
        (64, 32, 4, 4),
        dict(stride=2, padding=1),
    ),
    (
        "conv_transpose2d rot90 N=8 C=64->32 28->56 k=4 s=2 p=1",
        "conv_transpose2d:rot90",
        (8, 64, 28, 28),
        (64, 32, 4, 4),
        dict(stride=2, padding=1),
    ),
]


def train_step(what, xs, ws, kw, impl):
    """A closure running one forward and backward pass (inputs made here)."""
    torch.manual_seed(0)
    x = torch.randn(*xs, requires_grad=True)
    w = torch.randn(*ws, requires_grad=True)
    transposed = what.startswith("conv_transpose2d")
    b = torch.randn(ws[1] * kw.get("groups", 1) if transposed else ws[0], requires_grad=True)
    if transposed:
        method = what.split(":", 1)[1]
        if impl == "ours":
            op = lambda x, w, b: convlab.conv_transpose2d(x, w, b, **kw, method=method)  # noqa: E731
        else:
            op = lambda x, w, b: F.conv_transpose2d(x, w, b, **kw)  # noqa: E731
    else:
        conv = convlab.conv2d if impl == "ours" else F.conv2d
        op = lambda x, w, b: conv(x, w, b, **kw)  # noqa: E731
    meta = (t.detach().to("meta") for t in (x, w, b))
    gy = torch.randn(op(*meta).shape)  # the output's shape, without a full forward

    def step():
        op(x, w, b).backward(gy)
        x.grad = w.grad = b.grad = None

    return step


def train_memory(index, impl):
    """MiB by which one forward plus backward pass raises peak resident
    memory (run in a fresh process: see the module docstring)."""
    _, what, xs, ws, kw = TRAIN_CASES[index]
    small = (1, xs[1], 12, 12) if not what.startswith("conv_transpose") else (1, xs[1], 6, 6)
    train_step(what, small, ws, kw, impl)()  # warm-up: code paths, thread pool
    step = train_step(what, xs, ws, kw, impl)
    gc.collect()
    status = lambda key: int(open("/proc/self/status").read().split(key + ":")[1].split()[0])  # noqa: E731
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    step()
    return (status("VmHWM") - before) / 1024


def train_time(index, rounds):
    _, what, xs, ws, kw = TRAIN_CASES[index]
    fns = {impl: train_step(what, xs, ws, kw, impl) for impl in ("ours", "native")}
    t = interleaved(fns, rounds)
    return t["ours"], t["native"]


def _child(*args):
    out = subprocess.run(
        [sys.executable, __file__, *map(str, args)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def train_report(rounds, threads, mem_runs):
    print(
        f"\nForward plus backward, median of {rounds} interleaved rounds (time) and of "
        f"{mem_runs} fresh processes each (peak memory growth):\n"
    )
    print(
        f"| {'case':<56} | {'convlab ms':>10} | {'native ms':>9} | time  "
        f"| {'convlab MiB':>11} | {'native MiB':>10} | memory |"
    )
    print(f"|{'-' * 58}|{'-' * 12}|{'-' * 11}|-------|{'-' * 13}|{'-' * 12}|--------|")
    for i, (label, *_rest) in enumerate(TRAIN_CASES):
        ours_t, native_t = _child("--train-time", i, "--rounds", rounds, "--threads", threads)
        mem = {"ours": [], "native": []}
        for _ in range(mem_runs):
            for impl in mem:
                mem[impl].append(_child("--train-mem", i, "--impl", impl, "--threads", threads))
        ours_m, native_m = (statistics.median(mem[k]) for k in ("ours", "native"))
        print(
            f"| {label:<56} | {ours_t * 1e3:10.1f} | {native_t * 1e3:9.1f} | "
            f"{ours_t / native_t:4.2f}x | {ours_m:11.1f} | {native_m:10.1f} | "
            f"{ours_m / native_m:5.2f}x |",
            flush=True,
        )


def _unfold_kw(ws, kw):
    return dict(
        kernel_size=ws[2:],
        dilation=kw.get("dilation", 1),
        padding=kw.get("padding", 0),
        stride=kw.get("stride", 1),
    )


def jobs():
    """(row label, what to time) for every row, in table order."""
    out = []
    for label, xs, ws, kw in CONV_CASES:
        if kw.get("groups", 1) == 1:
            out.append((f"unfold {label}", ("unfold", xs, ws, kw)))
            out.append((f"fold {label}", ("fold", xs, ws, kw)))
        out.append((f"conv2d {label}", ("conv2d", xs, ws, kw)))
    for label, xs, ws, kw in TCONV_CASES:
        for method in convlab.TRANSPOSE_METHODS:
            out.append(
                (
                    f"conv_transpose2d {method:<5} {label}",
                    (f"conv_transpose2d:{method}", xs, ws, kw),
                )
            )
    return out


def time_job(job, rounds):
    """Median seconds of (convlab, native) for one job, interleaved."""
    what, xs, ws, kw = job
    torch.manual_seed(0)
    x = torch.randn(*xs)
    if what in ("unfold", "fold"):
        ukw = _unfold_kw(ws, kw)
        if what == "unfold":
            fns = {"ours": lambda: convlab.unfold(x, **ukw), "native": lambda: F.unfold(x, **ukw)}
        else:
            cols = F.unfold(x, **ukw)
            fns = {
                "ours": lambda: convlab.fold(cols, xs[2:], **ukw),
                "native": lambda: F.fold(cols, xs[2:], **ukw),
            }
    elif what == "conv2d":
        w, b = torch.randn(*ws), torch.randn(ws[0])
        fns = {
            "ours": lambda: convlab.conv2d(x, w, b, **kw),
            "native": lambda: F.conv2d(x, w, b, **kw),
        }
    else:  # "conv_transpose2d:<method>"
        method = what.split(":", 1)[1]
        w, b = torch.randn(*ws), torch.randn(ws[1])
        fns = {
            "ours": lambda: convlab.conv_transpose2d(x, w, b, **kw, method=method),
            "native": lambda: F.conv_transpose2d(x, w, b, **kw),
        }
    with torch.no_grad():
        t = interleaved(fns, rounds)
    return t["ours"], t["native"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mem-runs", type=int, default=5)
    parser.add_argument("--only", choices=["ops", "train"], help="one part of the report")
    parser.add_argument("--job", type=int, help=argparse.SUPPRESS)  # one row, in a child
    parser.add_argument("--train-time", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--train-mem", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    all_jobs = jobs()
    if args.job is not None:
        print(json.dumps(time_job(all_jobs[args.job][1], args.rounds)))
        return
    if args.train_time is not None:
        print(json.dumps(train_time(args.train_time, args.rounds)))
        return
    if args.train_mem is not None:
        print(json.dumps(train_memory(args.train_mem, args.impl)))
        return
    if args.only == "train":
        train_report(args.rounds, args.threads, args.mem_runs)
        return
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of "
        f"{args.rounds} interleaved rounds (steady state), one process per row\n"
    )
    print(f"| {'case':<64} | {'convlab ms':>9} | {'native ms':>9} | ratio  |")
    print(f"|{'-' * 66}|{'-' * 11}|{'-' * 11}|--------|")
    for i, (label, _) in enumerate(all_jobs):
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--job",
                str(i),
                "--rounds",
                str(args.rounds),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        ours, native = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"| {label:<64} | {ours * 1e3:9.2f} | {native * 1e3:9.2f} | {ours / native:5.2f}x |",
            flush=True,
        )

    if args.only is None:
        train_report(args.rounds, args.threads, args.mem_runs)
    sizes_report()


def sizes_report():
    """The untimed part of the report: memory of the unfolded matrix and the
    multiply-adds of both transposed methods (``tests/test_bench.py`` runs it)."""
    print("\nUnfolded matrix against its input (float32):")
    for label, xs, ws, kw in CONV_CASES:
        if kw.get("groups", 1) != 1:
            continue
        L = convlab.num_blocks(xs[2:], **_unfold_kw(ws, kw))
        cols_elems, x_elems = xs[0] * xs[1] * math.prod(ws[2:]) * L, math.prod(xs)
        print(
            f"  {label:<40} {cols_elems * 4 / 2**20:8.1f} MiB vs {x_elems * 4 / 2**20:6.1f} "
            f"MiB = {cols_elems / x_elems:5.2f}x"
        )

    print("\nMultiply-adds of a transposed convolution (matmul work only):")
    for label, xs, ws, kw in TCONV_CASES:
        N, C_in, H, W = xs
        C_out, k = ws[1], ws[2:]
        s, p = kw.get("stride", 1), kw.get("padding", 0)
        out = convlab.conv_transpose_output_shape((H, W), k, stride=s, padding=p)
        fold_macs = N * C_in * C_out * math.prod(k) * H * W
        rot_macs = N * C_out * math.prod(out) * C_in * math.prod(k)
        # Which of the rot90 method's inputs are real: unfold a mask of the zero-inserted,
        # padded image (convlab.unfold takes bool tensors).
        mask = torch.zeros(1, 1, (H - 1) * s + 1, (W - 1) * s + 1, dtype=torch.bool)
        mask[..., ::s, ::s] = True
        q = [ki - 1 - p for ki in k]
        mask = F.pad(mask, (q[1], q[1], q[0], q[0]))
        taps = convlab.unfold(mask, k)  # (prod(k), L_out): is each tap a real input?
        share = 1 - taps.sum().item() / taps.numel()
        print(
            f"  {label}: fold method {fold_macs / 1e9:.3f} G, rot90 method "
            f"{rot_macs / 1e9:.3f} G ({rot_macs / fold_macs:.2f}x); "
            f"{share:.0%} of rot90's multiply-adds land on inserted or padded zeros"
        )


if __name__ == "__main__":
    main()
