"""convlab under torch.compile and torch.export: sizes stay symbolic.

convlab never turns a size that comes from a tensor's shape into a Python
int, so a dynamic-shape compile makes no more graphs than torch's own op over
the same sweep, and an exported program runs on shapes it was not traced at.
"""

import pytest
import torch
import torch.nn.functional as F
from torch._dynamo.testing import CompileCounter
from torch.export import Dim, export

import convlab

SWEEP = [(N, H) for N in (1, 2, 3, 5, 7) for H in (9, 10, 11, 13, 15)]
W_CONV = torch.randn(4, 3, 3, 3)
W_TCONV = torch.randn(3, 2, 3, 3)

CASES = {
    "conv2d": (
        lambda x: convlab.conv2d(x, W_CONV, padding=1),
        lambda x: F.conv2d(x, W_CONV, padding=1),
    ),
    "conv2d strided": (
        lambda x: convlab.conv2d(x, W_CONV, stride=2, dilation=2, groups=1),
        lambda x: F.conv2d(x, W_CONV, stride=2, dilation=2),
    ),
    "conv_transpose2d fold": (
        lambda x: convlab.conv_transpose2d(x, W_TCONV, stride=2, padding=1, output_padding=1),
        lambda x: F.conv_transpose2d(x, W_TCONV, stride=2, padding=1, output_padding=1),
    ),
    "conv_transpose2d rot90": (
        lambda x: convlab.conv_transpose2d(
            x, W_TCONV, stride=2, padding=1, output_padding=1, method="rot90"
        ),
        lambda x: F.conv_transpose2d(x, W_TCONV, stride=2, padding=1, output_padding=1),
    ),
    "unfold": (
        lambda x: convlab.unfold(x, 3, padding=1, stride=2),
        lambda x: F.unfold(x, 3, padding=1, stride=2),
    ),
}


def _graphs(fn):
    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(fn, backend=counter, dynamic=True)
    for N, H in SWEEP:
        compiled(torch.randn(N, 3, H, H))
    return counter.frame_count


@pytest.mark.parametrize("name", CASES)
def test_dynamic_compile_makes_no_more_graphs_than_torch(name):
    ours, theirs = CASES[name]
    assert _graphs(ours) <= _graphs(theirs)


def test_dynamic_compile_of_fold():
    def ours(x):
        return convlab.fold(x, (6, 6), 3, padding=1)

    def theirs(x):
        return F.fold(x, (6, 6), 3, padding=1)

    torch._dynamo.reset()
    counts = []
    for fn in (ours, theirs):
        torch._dynamo.reset()
        counter = CompileCounter()
        compiled = torch.compile(fn, backend=counter, dynamic=True)
        for N in (1, 2, 3, 5, 7):
            for C in (1, 2, 4):
                compiled(torch.randn(N, C * 9, 36))
        counts.append(counter.frame_count)
    assert counts[0] <= counts[1]


class _Module(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("strict", [False, True])
def test_export_with_dynamic_batch_and_height(strict):
    """The issue's case: dynamic N and H named with Dim, as for F.conv2d."""
    ours, theirs = CASES["conv2d"]
    shapes = {"x": {0: Dim("N"), 2: Dim("H", min=3, max=512)}}
    program = export(
        _Module(ours), (torch.randn(2, 3, 10, 10),), dynamic_shapes=shapes, strict=strict
    )
    for N, H in [(1, 9), (3, 13), (5, 31)]:
        x = torch.randn(N, 3, H, 10)
        torch.testing.assert_close(program.module()(x), theirs(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_export_with_automatic_dynamic_shapes(name):
    """Strided ops: torch's own F.unfold and F.conv2d need Dim.AUTO here too
    (an explicit Dim range fails on the floor in the size formula)."""
    ours, theirs = CASES[name]
    shapes = {"x": {0: Dim.AUTO, 2: Dim.AUTO}}
    program = export(_Module(ours), (torch.randn(2, 3, 10, 10),), dynamic_shapes=shapes)
    for N, H in [(3, 13), (5, 9)]:
        x = torch.randn(N, 3, H, 10)
        torch.testing.assert_close(program.module()(x), theirs(x), atol=1e-4, rtol=1e-4)
