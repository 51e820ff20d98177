"""The general sentences of Chapter 2, Putting blocks back (`fold`), each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import random

import pytest
import torch
import torch.nn.functional as F

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
    r"""[sec-fold-summary]
    > `fold` is `unfold`'s transpose, not its inverse: as matrices, `fold`'s is `unfold`'s
    > transposed, so $\langle \mathrm{unfold}(x), c \rangle = \langle x, \mathrm{fold}(c)
    > \rangle$ for every `x` and `c`

    [sec-fold-adjoint]
    > Both are linear, so each is a matrix, and the two matrices are each other's transpose.

    [sec-fold-adjoint]
    > for every image `x` and every `y` of the columns' shape, with the same `kernel_size`,
    > `dilation`, `padding` and `stride`, and `output_size` the size of `x`,

    Every kernel size 1-5, stride 1-4, padding 0-4, dilation 1-4 (uneven pairs
    too), images of random sizes up to 16, float64, for torch's and convlab's ops;
    then the matrices themselves: fold's matrix, built column by column, is
    exactly unfold's transposed.
    """
    gen = torch.Generator().manual_seed(0)
    rng = random.Random(0)
    for k, s, p, d in itertools.product(range(1, 6), range(1, 5), range(5), range(1, 5)):
        k2, s2, p2, d2 = rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 4), rng.randint(1, 4)
        spans = (d * (k - 1) + 1 - 2 * p, d2 * (k2 - 1) + 1 - 2 * p2)
        H, W = (rng.randint(max(1, span), max(1, span, 16)) for span in spans)
        kw = dict(kernel_size=(k, k2), dilation=(d, d2), padding=(p, p2), stride=(s, s2))
        x = torch.randn(2, 3, H, W, generator=gen, dtype=torch.float64)
        c = torch.randn(F.unfold(x, **kw).shape, generator=gen, dtype=torch.float64)
        for unfold, fold in [(F.unfold, F.fold), (convlab.unfold, convlab.fold)]:
            lhs = (unfold(x, **kw) * c).sum()
            rhs = (x * fold(c, (H, W), **kw)).sum()
            torch.testing.assert_close(lhs, rhs, msg=str((H, W, kw)))
    for (H, W), kw in [
        ((2, 3), dict(kernel_size=2)),
        ((5, 4), dict(kernel_size=3, padding=1, stride=2, dilation=2)),
    ]:
        U = _unfold_matrix((H, W), **kw)
        n_cols = U.shape[0]
        L = n_cols // _kernel_numel(kw["kernel_size"])
        eye = torch.eye(n_cols, dtype=torch.float64).view(n_cols, -1, L)
        fold_matrix = F.fold(eye, (H, W), **kw).reshape(n_cols, H * W).T
        assert torch.equal(fold_matrix, U.T)


def _kernel_numel(k):
    return k * k if isinstance(k, int) else k[0] * k[1]


def _unfold_matrix(size, dtype=torch.float64, **kw):
    """U, the (K*L, H*W) matrix of unfold on one channel: column i is unfold of pixel i."""
    H, W = size
    eye = torch.eye(H * W, dtype=dtype).view(H * W, 1, H, W)
    return F.unfold(eye, **kw).reshape(H * W, -1).T


def _axis_counts(n, k, s, p, d=1):
    """How many blocks read each pixel along one axis, counted from the sentence's
    rule (block t starts at padded index s*t and reads s*t + d*j), not by fold."""
    L = (n + 2 * p - d * (k - 1) - 1) // s + 1
    return [sum(q - s * t in range(0, d * k, d) for t in range(L)) for q in range(p, p + n)], L


def test_kernel_a_multiple_of_stride_covers_inner_pixels_evenly_only_without_dilation():
    r"""[sec-uneven-overlap]
    > Along one axis, with `dilation=1`, the pixel at padded index $q$ is read by every
    > block that starts at one of the $k$ indices $q - k + 1, \dots, q$, that is, by the
    > block starts $s\,t$ ($0 \le t < L$) among them.

    [sec-uneven-overlap]
    > Where all those starts exist ($k - 1 \le q \le s(L-1)$), the count is the number of
    > multiples of `stride` among $k$ consecutive integers. When `kernel_size` is a multiple
    > of `stride` that is always $k/s$, so all these inner pixels are covered the same
    > number of times, $(k/s)^2$ in two dimensions.

    [sec-uneven-overlap]
    > The even inside needs `dilation=1`. With `kernel_size=4, stride=2, dilation=2`
    > (bottom panel, 12 x 12) every block starts on an even index and all its taps land on
    > even indices, so every odd row and column is never covered, and the covered ones are
    > uneven too: row 2 counts `2 4 6 6 4 2` on its covered pixels.

    [sec-uneven-overlap]
    > only three blocks fit in 12: no pixel is read by four.

    Every size 1-16, kernel 1-5, stride 1-4, padding 0-4 (dilation 1): the rule's
    count against fold's divisor, and the inner counts k/s in 2-D. The old wording
    ("when kernel_size is a multiple of stride, every inner pixel is covered the
    same number of times", with no word on dilation) fails on the dilated example.
    """
    for n, k, s, p in itertools.product(range(1, 17), range(1, 6), range(1, 5), range(5)):
        if k > n + 2 * p:
            continue
        counts, L = _axis_counts(n, k, s, p)
        divisor = convlab.fold_divisor((n, n), k, padding=p, stride=s).long()
        assert divisor.tolist() == [[a * b for b in counts] for a in counts], (n, k, s, p)
        for y, q in enumerate(range(p, p + n)):
            if k - 1 <= q <= s * (L - 1):
                multiples = sum(v % s == 0 for v in range(q - k + 1, q + 1))
                assert counts[y] == multiples, (n, k, s, p, y)
                if k % s == 0:
                    assert counts[y] == k // s, (n, k, s, p, y)
        if k % s == 0:
            inner = [y for y, q in enumerate(range(p, p + n)) if k - 1 <= q <= s * (L - 1)]
            for y, x in itertools.product(inner, inner):
                assert int(divisor[y, x]) == (k // s) ** 2, (n, k, s, p, y, x)
    # with dilation, a kernel that is a multiple of the stride is not even inside
    div = convlab.fold_divisor((12, 12), 4, stride=2, dilation=2).long()
    assert bool((div[1::2] == 0).all()) and bool((div[:, 1::2] == 0).all())
    assert div[2, ::2].tolist() == [2, 4, 6, 6, 4, 2]
    counts, L = _axis_counts(12, 4, 2, 0, 2)
    assert L == 3 and max(counts) == 3
    # the old wording: "every inner pixel" (k-1 <= q <= s(L-1)) covered (k/s)^2 times
    inner = div[3 : 2 * (L - 1) + 1, 3 : 2 * (L - 1) + 1]
    assert not bool((inner == 4).all())


def test_kernel_not_a_multiple_of_stride_gives_a_checkerboard_inside():
    r"""[sec-uneven-overlap]
    > When it is not a multiple, it is $\lceil k/s \rceil$ for some of any `stride`
    > consecutive inner pixels and $\lfloor k/s \rfloor$ for the others: neighbouring
    > pixels are covered unequally, and the divisor is a checkerboard.

    Every size up to 16, kernel 1-5, stride 1-4, padding 0-4, dilation 1: in every
    run of `stride` consecutive inner pixels both counts occur, and no other.
    """
    seen = 0
    for n, k, s, p in itertools.product(range(1, 17), range(1, 6), range(2, 5), range(5)):
        if k % s == 0 or k > n + 2 * p:
            continue
        counts, L = _axis_counts(n, k, s, p)
        inner = [counts[y] for y, q in enumerate(range(p, p + n)) if k - 1 <= q <= s * (L - 1)]
        assert set(inner) <= {k // s, -(-k // s)}, (n, k, s, p)
        for i in range(len(inner) - s + 1):
            assert set(inner[i : i + s]) == {k // s, -(-k // s)}, (n, k, s, p, i)
            seen += 1
    assert seen > 100


def test_the_border_counts_no_more_than_the_inside_would():
    """[sec-uneven-overlap]
    > Closer to an end, starts before the first block or after the last one do not
    > exist, so a border pixel counts no more than the inside would, and often less.

    [sec-uneven-overlap]
    > In the top left panel (`kernel_size=3, stride=2` on 9 x 9) the first two and the
    > last two pixels of each row are read by one block each, where the inside alternates
    > 2 and 1 per axis.

    [sec-uneven-overlap]
    > In the top right panel (`kernel_size=4, stride=2, padding=1` on 10 x 10) the first
    > pixel sits at padded index 1, which only the first block reads: one block per axis
    > instead of two, so the edges count 2 and the corners 1 around an inside of 4.

    "The inside would": the number of multiples of the stride among the k indices
    q - k + 1, ..., q. Every size up to 16, kernel 1-5, stride 1-4, padding 0-4.
    """
    less = 0
    for n, k, s, p in itertools.product(range(1, 17), range(1, 6), range(1, 5), range(5)):
        if k > n + 2 * p:
            continue
        counts, _ = _axis_counts(n, k, s, p)
        for y, q in enumerate(range(p, p + n)):
            inside = sum(v % s == 0 for v in range(q - k + 1, q + 1))
            assert counts[y] <= inside, (n, k, s, p, y)
            less += counts[y] < inside
    assert less > 100
    assert _axis_counts(9, 3, 2, 0)[0] == [1, 1, 2, 1, 2, 1, 2, 1, 1]
    div = convlab.fold_divisor((10, 10), 4, stride=2, padding=1).long()
    assert _axis_counts(10, 4, 2, 1)[0] == [1] + [2] * 8 + [1]
    assert int(div[0, 0]) == 1 and set(div[0, 1:-1].tolist()) == {2}
    assert set(div[1:-1, 1:-1].flatten().tolist()) == {4}


def test_all_ones_transposed_convolution_is_the_divisor():
    """[sec-uneven-overlap]
    > With an all-ones input and an all-ones kernel its output *is* this count

    conv_transpose2d of ones by ones (output_padding 0) equals fold_divisor of its
    output size with the same parameters: every input size up to 6, kernel 1-5,
    stride 1-4, padding 0-4, dilation 1-4 where the output has a pixel.
    """
    for n, k, s, p, d in itertools.product(
        range(1, 7), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        m = (n - 1) * s - 2 * p + d * (k - 1) + 1
        if m < 1:
            continue
        out = F.conv_transpose2d(
            torch.ones(1, 1, n, n), torch.ones(1, 1, k, k), stride=s, padding=p, dilation=d
        )
        divisor = convlab.fold_divisor((m, m), k, dilation=d, padding=p, stride=s)
        assert torch.equal(out[0, 0], divisor), (n, k, s, p, d)
