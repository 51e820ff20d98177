"""Time convlab's lowered ops against torch's native ones (prints a table; not a test).

Every case times convlab and the native op *interleaved* in one run (one call
of each per round, many rounds) and reports medians, so both see the same
machine load; the ratio is what to read. Also prints the size of the unfolded
matrix against the input, and how many of the rot90 method's multiply-adds
land on inserted zeros compared with the fold (col2im) method.

    python benchmarks/ops.py [--rounds 15] [--threads 2]
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F

import convlab
from convlab.bench import interleaved


def row(label, ours, native):
    return f"| {label:<64} | {ours * 1e3:9.2f} | {native * 1e3:9.2f} | {ours / native:5.2f}x |"


def conv_cases():
    return [
        ("conv2d N=8 C=64->64 56x56 k=3 s=1 p=1", (8, 64, 56, 56), (64, 64, 3, 3),
         dict(stride=1, padding=1)),
        ("conv2d N=8 C=64->64 56x56 k=3 s=2 p=1", (8, 64, 56, 56), (64, 64, 3, 3),
         dict(stride=2, padding=1)),
        ("conv2d N=4 C=32->32 224x224 k=3 d=2 s=2", (4, 32, 224, 224), (32, 32, 3, 3),
         dict(stride=2, dilation=2)),
        ("conv2d N=8 C=64 56x56 k=3 depthwise (groups=64)", (8, 64, 56, 56), (64, 1, 3, 3),
         dict(padding=1, groups=64)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.rounds} interleaved rounds\n")
    print(f"| {'case':<64} | {'convlab ms':>9} | {'native ms':>9} | ratio  |")
    print(f"|{'-' * 66}|{'-' * 11}|{'-' * 11}|--------|")

    blowups = []
    with torch.no_grad():
        for label, xs, ws, kw in conv_cases():
            x, w = torch.randn(*xs), torch.randn(*ws)
            b = torch.randn(ws[0])
            unfold_kw = dict(kernel_size=ws[2:], dilation=kw.get("dilation", 1),
                             padding=kw.get("padding", 0), stride=kw.get("stride", 1))
            if kw.get("groups", 1) == 1:
                t = interleaved({"ours": lambda: convlab.unfold(x, **unfold_kw),
                                 "native": lambda: F.unfold(x, **unfold_kw)}, args.rounds)
                print(row("unfold " + label.split(" ", 1)[1], t["ours"], t["native"]))
                cols = F.unfold(x, **unfold_kw)
                t = interleaved({"ours": lambda: convlab.fold(cols, xs[2:], **unfold_kw),
                                 "native": lambda: F.fold(cols, xs[2:], **unfold_kw)},
                                args.rounds)
                print(row("fold " + label.split(" ", 1)[1], t["ours"], t["native"]))
                blowups.append((label, cols.numel() * cols.element_size(),
                                x.numel() * x.element_size()))
            t = interleaved({"ours": lambda: convlab.conv2d(x, w, b, **kw),
                             "native": lambda: F.conv2d(x, w, b, **kw)}, args.rounds)
            print(row(label, t["ours"], t["native"]))

        tconv_cases = [
            ("N=8 C=64->32 28x28->56x56 k=4 s=2 p=1", (8, 64, 28, 28), (64, 32, 4, 4),
             dict(stride=2, padding=1)),
            ("N=8 C=64->32 28x28->57x57 k=3 s=2 op=0", (8, 64, 28, 28), (64, 32, 3, 3),
             dict(stride=2)),
        ]
        macs = []
        for label, xs, ws, kw in tconv_cases:
            x, w = torch.randn(*xs), torch.randn(*ws)
            b = torch.randn(ws[1])
            fns = {m: (lambda m=m: convlab.conv_transpose2d(x, w, b, **kw, method=m))
                   for m in convlab.TRANSPOSE_METHODS}
            fns["native"] = lambda: F.conv_transpose2d(x, w, b, **kw)
            t = interleaved(fns, args.rounds)
            for m in convlab.TRANSPOSE_METHODS:
                print(row(f"conv_transpose2d {m:<5} {label}", t[m], t["native"]))
            macs.append((label, xs, ws, kw))

    print("\nUnfolded matrix against its input (float32):")
    for label, cols_bytes, x_bytes in blowups:
        print(f"  {label:<44} {cols_bytes / 2**20:8.1f} MiB vs {x_bytes / 2**20:6.1f} MiB "
              f"= {cols_bytes / x_bytes:5.2f}x")

    print("\nMultiply-adds of a transposed convolution (matmul work only):")
    for label, xs, ws, kw in macs:
        N, C_in, H, W = xs
        C_out, k = ws[1], ws[2:]
        s, p = kw.get("stride", 1), kw.get("padding", 0)
        out = convlab.conv_transpose_output_shape((H, W), k, s, p)
        fold_macs = N * C_in * C_out * math.prod(k) * H * W
        rot_macs = N * C_out * math.prod(out) * C_in * math.prod(k)
        # Which of the rot90 method's inputs are real: unfold a mask of the zero-inserted,
        # padded image (convlab.unfold takes bool tensors).
        mask = torch.zeros(1, 1, (H - 1) * s + 1, (W - 1) * s + 1, dtype=torch.bool)
        mask[..., ::s, ::s] = True
        q = [1 * (ki - 1) - p for ki in k]
        mask = F.pad(mask, (q[1], q[1], q[0], q[0]))
        taps = convlab.unfold(mask, k)  # (prod(k), L_out): is each tap a real input?
        share = 1 - taps.sum().item() / taps.numel()
        print(f"  {label}: fold method {fold_macs / 1e9:.3f} G, rot90 method "
              f"{rot_macs / 1e9:.3f} G ({rot_macs / fold_macs:.2f}x); "
              f"{share:.0%} of rot90's multiply-adds land on inserted or padded zeros")


if __name__ == "__main__":
    main()
