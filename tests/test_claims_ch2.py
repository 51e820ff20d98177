"""The general sentences of Chapter 2, Putting blocks back (`fold`), each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F
from claims_index import notebook_text

import convlab


def test_F_fold_refuses_a_tuple_of_one():
    """fold's docstring: "torch 2.13's F.fold raises there"; convlab repeats it."""
    cols = F.unfold(torch.randn(1, 2, 6, 6), 3)
    with pytest.raises(RuntimeError):
        F.fold(cols, (6,), (3,))
    assert torch.equal(convlab.fold(cols, (6,), (3,)), F.fold(cols, (6, 6), 3))


def test_dilation_gaps_leave_pixels_no_block_reads():
    """fold_divisor's docstring: a zero can come from "gaps between dilated taps
    that no block fills", with a stride smaller than the dilated kernel."""
    divisor = convlab.fold_divisor((7,), 2, dilation=2, stride=2)
    assert divisor.tolist() == [1, 0, 2, 0, 2, 0, 1]


def _unread_causes(H, k, s, p, d):
    """Chapter 2's rule along one axis, read off the sentence and not from fold:
    for each pixel, (unread, gap, hole, dropped)."""
    span = d * (k - 1) + 1
    L = (H + 2 * p - span) // s + 1
    taps = {s * t + d * j for t in range(L) for j in range(k)}
    rows = []
    for y in range(H):
        q = y + p
        unread = q not in taps
        gap = any(s * t + span <= q < s * (t + 1) for t in range(L - 1))
        hole = unread and any(s * t <= q < s * t + span and (q - s * t) % d != 0 for t in range(L))
        dropped = q >= s * (L - 1) + span
        rows.append((unread, gap, hole, dropped))
    return rows


def test_divisor_zeros_come_from_gaps_holes_and_the_floor():
    """Chapter 2, "When `fold` cannot be undone": pixel y at padded index q = y + p is
    unread exactly when no block start s*t (0 <= t < L) and no tap j (0 <= j < k) give
    s*t + dil*j = q, and that happens in three ways: "gaps between blocks, when the
    stride is larger than the span dil(k-1) + 1; holes between the taps of a dilated
    block that no other block's taps fill, even with a stride smaller than the span:
    when `stride` and `dilation` are both even, for example, every tap lands on an even
    padded index; the last rows and columns, which the floor in the size formula
    drops"."""
    seen = {"gap": 0, "hole": 0, "hole, stride < span": 0, "dropped": 0}
    for H, k, s, p, d in itertools.product(
        range(1, 14), range(1, 5), range(1, 6), range(4), range(1, 5)
    ):
        span = d * (k - 1) + 1
        if span > H + 2 * p:
            continue
        divisor = convlab.fold_divisor((H,), k, dilation=d, padding=p, stride=s)
        for y, (unread, gap, hole, dropped) in enumerate(_unread_causes(H, k, s, p, d)):
            case = (H, k, s, p, d, y)
            assert (divisor[y] == 0) == unread, case  # the rule is fold's
            assert unread == (gap or hole or dropped), case  # the three causes, all of them
            assert not gap or s > span, case
            assert not hole or d > 1, case
            if s % 2 == 0 and d % 2 == 0 and (y + p) % 2 == 1:
                assert unread, case  # both even: odd padded indices are never read
            seen["gap"] += gap
            seen["hole"] += hole
            seen["hole, stride < span"] += hole and s < span
            seen["dropped"] += dropped
    assert all(seen.values()), seen
    # the example: span 5 > stride 2, nothing dropped, 56 of 81 pixels unread
    causes = _unread_causes(9, 3, 2, 0, 2)
    assert not any(gap or dropped for _, gap, _, dropped in causes)
    D = F.fold(F.unfold(torch.ones(1, 1, 9, 9), 3, 2, 0, 2), (9, 9), 3, 2, 0, 2)
    assert int((D == 0).sum()) == 56


def test_a_pixel_is_unread_when_its_row_or_its_column_is():
    """Chapter 2: "a pixel of the image is unread when its row or its column is"."""
    for (H, kh, sh, ph, dh), (W, kw, sw, pw, dw) in itertools.product(
        [(5, 2, 3, 0, 1), (7, 3, 2, 1, 2), (9, 2, 2, 0, 3), (6, 1, 1, 0, 1)],
        [(8, 2, 2, 1, 2), (7, 3, 1, 0, 1), (5, 2, 4, 1, 1), (9, 3, 2, 2, 2)],
    ):
        divisor = convlab.fold_divisor(
            (H, W), (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw)
        )
        rows = [c[0] for c in _unread_causes(H, kh, sh, ph, dh)]
        cols = [c[0] for c in _unread_causes(W, kw, sw, pw, dw)]
        for y, x in itertools.product(range(H), range(W)):
            assert (divisor[y, x] == 0) == (rows[y] or cols[x]), (H, W, y, x)


def test_fold_is_the_adjoint_of_unfold():
    """Chapter 2's summary: "as matrices, `fold`'s is `unfold`'s transposed, so
    <unfold(x), c> = <x, fold(c)> for every `x` and `c`"."""
    gen = torch.Generator().manual_seed(0)
    for H, W, k, s, p, d in itertools.product(
        (4, 7), (5, 8), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2)
    ):
        if d * (k - 1) + 1 > min(H, W) + 2 * p:
            continue
        kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
        x = torch.randn(2, 3, H, W, generator=gen, dtype=torch.float64)
        c = torch.randn(F.unfold(x, **kw).shape, generator=gen, dtype=torch.float64)
        for unfold, fold in [(F.unfold, F.fold), (convlab.unfold, convlab.fold)]:
            lhs = (unfold(x, **kw) * c).sum()
            rhs = (x * fold(c, (H, W), **kw)).sum()
            torch.testing.assert_close(lhs, rhs, msg=str((H, W, k, s, p, d)))


def test_kernel_a_multiple_of_stride_covers_inner_pixels_evenly_only_without_dilation():
    """Chapter 2, section 2.6: "With `dilation=1`, when `kernel_size` is a multiple of
    `stride`, every pixel that all its `kernel_size / stride` blocks per dimension reach is
    covered the same number of times, $(k/s)^2$ ... Dilation breaks the even case too"."""
    text = " ".join(notebook_text("02_putting_blocks_back.ipynb").split())
    assert "With `dilation=1`, when `kernel_size` is a multiple of `stride`" in text
    for n, k, s in itertools.product(range(4, 17), range(1, 6), range(1, 5)):
        if k % s or k > n:
            continue
        div = convlab.fold_divisor((n, n), k, stride=s).long()
        L = (n - k) // s + 1
        last = s * (L - 1)  # the last block start
        inner = div[k - 1 : last + 1, k - 1 : last + 1]  # reached by all k/s blocks
        assert bool((inner == (k // s) ** 2).all()), (n, k, s)
    # with dilation, even a kernel that is a multiple of the stride leaves rows uncovered
    div = convlab.fold_divisor((12, 12), 4, stride=2, dilation=2).long()
    assert bool((div[1::2] == 0).all()) and bool((div[:, 1::2] == 0).all())
