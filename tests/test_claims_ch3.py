"""The general sentences of chapter 3 (convolution as a matrix product), each tried
against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import warnings

import pytest
import torch
import torch.nn.functional as F

import convlab


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


def test_conv_transpose_without_output_padding_picks_the_smallest_size():
    """Chapter 3: several input sizes give the same output and `conv_transpose2d`
    picks the smallest of them (or refuses, when padding pushes that below one
    pixel) unless output_padding says otherwise."""
    refused = 0
    for H, k, s, p, d in itertools.product(
        range(1, 12), range(1, 4), range(1, 4), range(3), (1, 2)
    ):
        if d * (k - 1) + 1 > H + 2 * p:
            continue
        out = (H + 2 * p - d * (k - 1) - 1) // s + 1
        same = [h for h in range(1, H + s + 1) if h + 2 * p >= d * (k - 1) + 1]
        same = [h for h in same if (h + 2 * p - d * (k - 1) - 1) // s + 1 == out]
        smallest = (out - 1) * s - 2 * p + d * (k - 1) + 1
        y, w = torch.zeros(1, 1, out), torch.zeros(1, 1, k)
        if smallest < 1:
            refused += 1
            with pytest.raises(RuntimeError):
                F.conv_transpose1d(y, w, stride=s, padding=p, dilation=d)
            continue
        back = F.conv_transpose1d(y, w, stride=s, padding=p, dilation=d)
        assert back.shape[-1] == min(same) == smallest, (H, k, s, p, d)
    assert refused > 0


def test_each_row_of_the_conv_matrix_starts_where_its_block_starts():
    """Chapter 3: "row o is the kernel laid out along the flattened image,
    starting where block o starts: the next row starts stride pixels later, or
    stride image rows lower at the end of a row of blocks"."""
    for H, W, k, s in itertools.product((5, 6, 7), (5, 8), (1, 2, 3), (1, 2, 3)):
        Cm = convlab.conv_matrix((H, W), torch.ones(k, k), stride=s)
        W_out = (W - k) // s + 1
        for o in range(Cm.shape[0]):
            first = int(Cm[o].nonzero()[0])
            assert first == (o // W_out) * s * W + (o % W_out) * s


def test_groups_must_divide_both_channel_counts():
    """Chapter 3, section 3.3 (the groups explorer): torch refuses a `groups` that does
    not divide both `in_channels` and `out_channels`; the explorer refuses the same."""
    from convlab import scenes

    for ci, co, g in itertools.product(range(1, 7), range(1, 7), range(1, 7)):
        ok = ci % g == 0 and co % g == 0
        if ok:
            F.conv2d(torch.zeros(1, ci, 3, 3), torch.zeros(co, ci // g, 1, 1), groups=g)
            scenes.matmul(3, 1, out_channels=co, in_channels=ci, groups=g)
        else:
            with pytest.raises(RuntimeError):
                F.conv2d(torch.zeros(1, ci, 3, 3), torch.zeros(co, max(ci // g, 1), 1, 1), groups=g)
            with pytest.raises(ValueError, match="groups"):
                scenes.matmul(3, 1, out_channels=co, in_channels=ci, groups=g)


def test_fold_with_kernel_size_1_equals_a_view_but_copies():
    """Chapter 3, section 3.4: `F.fold(out, (H_out, W_out), kernel_size=1)` "gives
    `out_cols.view(N, C_out, H_out, W_out)` value for value, but `fold` always copies
    into new memory"."""
    for N, C, H, W in itertools.product((1, 2), (1, 4), (1, 3, 4), (1, 5)):
        out_cols = torch.randn(N, C, H * W)
        folded = F.fold(out_cols, (H, W), kernel_size=1)
        view = out_cols.view(N, C, H, W)
        assert torch.equal(folded, view)
        assert view._is_view() and not folded._is_view()
        assert folded.untyped_storage().data_ptr() != out_cols.untyped_storage().data_ptr()
        out_cols.add_(1)  # the view follows its base; the fold does not
        assert torch.equal(view, out_cols.view(N, C, H, W))
        assert not torch.equal(folded, view)
