"""The general sentences of Chapter 4, Transposed convolution, each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import warnings

import pytest
import torch
import torch.nn.functional as F
from claims_index import notebook_text


def test_conv_transpose_refuses_output_padding_smaller_than_neither():
    """Chapter 4, section 4.9: "a combination PyTorch refuses (an `output_padding` at
    least as large as both `stride` and `dilation`) shows the reason instead"; and the
    explorer refuses exactly those."""
    from convlab import scenes

    x, w = torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 3)
    for s, d, op in itertools.product(range(1, 5), range(1, 4), range(0, 6)):
        refused = op >= s and op >= d
        try:
            F.conv_transpose2d(x, w, stride=s, dilation=d, output_padding=op)
            ran = True
        except RuntimeError:
            ran = False
        assert ran != refused, (s, d, op)
        if refused:
            with pytest.raises(ValueError, match="output_padding"):
                scenes.transpose(3, 3, stride=s, padding=0, output_padding=op, dilation=d)
        else:
            scenes.transpose(3, 3, stride=s, padding=0, output_padding=op, dilation=d)


def _aten_ops(x, weight, **kw):
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        F.conv_transpose2d(x, weight, **kw)
    return {e.name for e in prof.events()}


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN")
def test_cpu_conv_transpose2d_is_onednn_for_float32_and_col2im_otherwise():
    """Chapter 4, section 4.8: "where PyTorch is built with oneDNN, float32 input of
    the sizes above goes to oneDNN's own transposed convolution ...; float64, a tiny
    float32 input, or float32 under `torch.backends.mkldnn.flags(enabled=False)` runs
    `slow_conv_transpose2d`, as `torch.profiler` shows"."""
    slow = "aten::slow_conv_transpose2d"
    kw = dict(stride=2, padding=1)
    x, weight = torch.randn(8, 64, 28, 28), torch.randn(64, 32, 4, 4)  # the chapter's
    assert slow not in _aten_ops(x, weight, **kw)
    backend = torch._C._select_conv_backend(
        x, weight, None, [2, 2], [1, 1], [1, 1], True, [0, 0], 1, None
    )
    assert backend != torch._C._ConvBackend.SlowTranspose2d
    assert slow in _aten_ops(x.double(), weight.double(), **kw)
    with warnings.catch_warnings(action="ignore"), torch.backends.mkldnn.flags(enabled=False):
        assert slow in _aten_ops(x, weight, **kw)
    assert slow in _aten_ops(torch.randn(1, 2, 5, 5), torch.randn(2, 3, 3, 3), **kw)


@pytest.mark.parametrize("seed", range(5))
def test_each_output_phase_sums_its_own_taps(seed):
    """Chapter 4, section 4.7: "Even when `kernel_size` is a multiple of `stride`, the
    output pixels of each **phase** `o mod stride` are sums over a different subset of the
    kernel's taps ... A constant input then gives a period-2 pattern unless those subsets
    happen to have equal sums, which all-ones weights do and a random kernel does not"."""
    text = " ".join(notebook_text("04_transposed_convolution.ipynb").split())
    assert "removes the uneven counts, not the phases" in text  # not "avoid it" any more
    g = torch.Generator().manual_seed(seed)
    for k, s in ((4, 2), (6, 2), (6, 3), (3, 3)):
        w = torch.randn(1, 1, k, k, generator=g, dtype=torch.float64)
        y = F.conv_transpose2d(torch.ones(1, 1, 8, 8, dtype=torch.float64), w, stride=s)[0, 0]
        inner = y[k - 1 : 8 * s - s + 1, k - 1 : 8 * s - s + 1]
        for a in range(s):
            for b in range(s):
                # inner[a::s] is output o = k - 1 + a + s*m: it gets the taps i = o (mod s)
                taps = w[0, 0, (a + k - 1) % s :: s, (b + k - 1) % s :: s].sum()
                phase = inner[a::s, b::s]
                assert torch.allclose(phase, phase.flatten()[0].expand_as(phase))
                assert torch.isclose(phase.flatten()[0], taps) or s == 1
        if s > 1:
            assert inner.unique().numel() > 1  # a random kernel: a pattern of period s
        ones = F.conv_transpose2d(torch.ones(1, 1, 8, 8), torch.ones(1, 1, k, k), stride=s)
        assert ones[0, 0, k - 1 : 8 * s - s + 1, k - 1 : 8 * s - s + 1].unique().numel() == 1
