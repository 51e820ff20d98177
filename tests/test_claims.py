"""Sentences of the book that state a rule, each tried against a wide grid.

Every test names the chapter and quotes the claim it tries to refute.
"""

import itertools
import warnings

import pytest
import torch
import torch.nn.functional as F

import convlab


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8])
def test_F_unfold_refuses_integer_dtypes_on_the_cpu(dtype):
    """Chapter 1: "`F.unfold` refuses integer dtypes on the CPU"; convlab takes them."""
    x = torch.arange(2 * 5 * 5).view(1, 2, 5, 5).to(dtype)
    with pytest.raises(NotImplementedError, match="im2col_out_cpu"):
        F.unfold(x, 2)
    ref = F.unfold(x.double(), 2).to(dtype)
    assert torch.equal(convlab.unfold(x, 2), ref)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.bool])
def test_F_unfold_takes_floats_and_bool(dtype):
    """...and only integers: floating point and bool go through."""
    x = (torch.arange(50).view(1, 2, 5, 5) % 3 == 0).to(dtype)
    assert torch.equal(F.unfold(x, 2), convlab.unfold(x, 2))


@pytest.mark.parametrize("module", [False, True])
def test_torch_refuses_a_tuple_of_one_that_its_docstring_promises(module):
    """Chapter 1: "as the `nn.Unfold` docstring promises; both `nn.Unfold` and
    `F.unfold` refuse it" (torch 2.13)."""
    assert "replicated" in torch.nn.Unfold.__doc__
    x = torch.randn(2, 3, 6, 7)
    with pytest.raises(RuntimeError, match="expected kernel_size equals to 2"):
        torch.nn.Unfold((3,))(x) if module else F.unfold(x, (3,))
    assert torch.equal(convlab.unfold(x, (3,)), F.unfold(x, 3))


def test_same_padding_puts_the_extra_zero_at_the_end_exactly_when_the_total_is_odd():
    """Chapter 3: "'same' pads dil(k-1) zeros in total; when that total is odd, the
    extra zero goes at the bottom/right"; when it is even, both sides get half."""
    x = torch.randn(1, 2, 9, 10, dtype=torch.float64)
    for k, d in itertools.product(range(1, 6), range(1, 4)):
        w = torch.randn(3, 2, k, k, dtype=torch.float64)
        total = d * (k - 1)
        with warnings.catch_warnings(action="ignore"):
            same = F.conv2d(x, w, padding="same", dilation=d)
        lo, hi = total // 2, total - total // 2
        manual = F.conv2d(F.pad(x, (lo, hi, lo, hi)), w, dilation=d)
        torch.testing.assert_close(same, manual)
        assert (hi != lo) == (total % 2 == 1)
        if total % 2 == 0:  # a symmetric padding= says the same
            torch.testing.assert_close(same, F.conv2d(x, w, padding=lo, dilation=d))


def test_output_padding_counts_dropped_padding_rows_too():
    """Chapter 3: output_padding restores the trailing rows and columns of the
    *padded* input that the floor dropped, padding included: with 4 x 4, k=3,
    padding=1, stride=2 every image pixel is read, yet output_padding is 1."""
    divisor = convlab.fold_divisor((4, 4), 3, padding=1, stride=2)
    assert bool((divisor > 0).all())
    op = convlab.output_padding_for((4, 4), 3, stride=2, padding=1)
    assert op == (1, 1)
    y = torch.randn(1, 1, 2, 2)
    w = torch.randn(1, 1, 3, 3)
    assert F.conv_transpose2d(y, w, stride=2, padding=1).shape[-2:] == (3, 3)
    assert F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=op).shape[-2:] == (4, 4)


def test_output_padding_formula_over_a_grid():
    """Chapter 3 and ``conv_matrix``'s docstring:
    output_padding = (H + 2p - d(k-1) - 1) mod stride restores H exactly."""
    for H, k, s, p, d in itertools.product(
        range(1, 12), range(1, 5), range(1, 5), range(3), (1, 2)
    ):
        if d * (k - 1) + 1 > H + 2 * p:
            continue
        op = (H + 2 * p - d * (k - 1) - 1) % s  # always < stride: torch accepts it
        y = torch.zeros(1, 1, (H + 2 * p - d * (k - 1) - 1) // s + 1)
        back = F.conv_transpose1d(
            y, torch.zeros(1, 1, k), stride=s, padding=p, output_padding=op, dilation=d
        )
        assert back.shape[-1] == H, (H, k, s, p, d)


def test_F_unfold_reads_a_batch_of_signals_as_one_image():
    """Chapter 1: "a batch of signals (N, C, L) has three dimensions, so `F.unfold`
    reads it as one unbatched image (C, H, W)"; convlab's error points to unfold1d."""
    signals = torch.randn(4, 2, 10)
    assert F.unfold(signals, (1, 3)).shape == (4 * 3, 2 * 8)  # silently (C*K, L)
    with pytest.raises(RuntimeError):
        F.unfold(signals, 3)
    with pytest.raises(ValueError, match=r"read as one unbatched \(C, H, W\) image.*unfold1d"):
        convlab.unfold(signals, 3)
