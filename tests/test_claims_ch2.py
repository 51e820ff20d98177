"""The general sentences of Chapter 2, Putting blocks back (`fold`), each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import math
import random

import pytest
import torch
import torch.nn.functional as F
from claims_index import notebook_text

import convlab


def test_F_fold_refuses_a_tuple_of_one():
    """[sec-fold-undone]
    > `F.fold` has no 1-D form: it refuses a tuple of one, which `convlab.fold` repeats, as
    > it does an int

    [sec-fold-undone]
    > `convlab.fold_divisor` with a size of one dimension is the divisor of `convlab.fold1d`

    Every argument of `F.fold` given as a tuple of one is refused; `convlab.fold` gives
    what the int gives, over kernels, strides, paddings and dilations. The divisor of a
    size of one dimension is fold1d(unfold1d(ones)) over the wide grid of axes.
    """
    for n, k, s, p, d in _axes():
        ones = torch.ones(1, 1, n)
        kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
        want = convlab.fold1d(convlab.unfold1d(ones, **kw), (n,), **kw)[0, 0]
        assert torch.equal(convlab.fold_divisor((n,), **kw), want), (n, k, s, p, d)
    for k, s, p, d in itertools.product((1, 2, 3), (1, 2), (0, 1), (1, 2)):
        x = torch.randn(1, 2, 7, 7)
        kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
        cols = F.unfold(x, **kw)
        for name in ("output_size", "kernel_size", "dilation", "padding", "stride"):
            args = dict(output_size=7, **kw)
            args[name] = (args[name],)
            with pytest.raises(RuntimeError):
                F.fold(cols, **args)
            torch.testing.assert_close(convlab.fold(cols, **args), F.fold(cols, 7, **kw))


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
        starts = [s * t for t in range(L)]
        inside = any(b <= q < b + span for b in starts)
        dropped = unread and q >= starts[-1] + span
        hole = unread and inside
        gap = unread and not inside and not dropped
        rows.append((unread, gap, hole, dropped))
    return rows


def _axes():
    """Every axis of the wide grid: size up to 16, kernel up to 5, stride and dilation
    up to 4, padding up to 4, where the dilated kernel fits."""
    for n, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if d * (k - 1) + 1 <= n + 2 * p:
            yield n, k, s, p, d


def test_divisor_zeros_come_from_gaps_holes_and_the_floor():
    r"""[sec-fold-undone]
    > block $t$ starts at padded index $s\,t$, and its tap $j$ reads padded index
    > $s\,t + d\,j$.

    [sec-fold-undone]
    > Pixel $y$ sits at padded index $y + p$, so it is read exactly when

    [sec-fold-undone]
    > y + p = s\,t + d\,j \quad \text{for some integers } 0 \le t < L,\ 0 \le j < k.

    [sec-fold-undone]
    > An unread pixel has exactly one of three causes

    [sec-fold-undone]
    > a **gap** between two blocks: the pixel lies after the end of one block's span and
    > before the start of the next, which happens only when the stride is larger than the
    > span $d(k-1) + 1$;

    [sec-fold-undone]
    > a **hole** between the taps of a dilated block that no other block's taps fill: the
    > pixel lies inside some block's span, even with a stride no larger than the span.

    [sec-fold-undone]
    > When `stride` and `dilation` have a common factor $g > 1$, every tap lands on a
    > multiple of $g$, so no padded index that is not a multiple of $g$ is read;

    [sec-fold-undone]
    > **dropped** by the floor in the size formula: the pixel lies after the end of the last
    > block's span.

    [sec-fold-exercises]
    > A common factor is one way to leave holes, not the only one.

    Along one axis, over the whole wide grid (every size up to 16, kernel up to 5,
    stride and dilation up to 4, padding up to 4), fold1d's divisor is zero exactly
    where the rule says; every unread pixel has exactly one cause; a gap needs a stride
    larger than the span; holes occur with a stride no larger than the span; with a
    common factor g, indices off the multiples of g are never read. Each cause must
    occur. The old wording named two causes (gaps, the floor): `unread == gap or
    dropped` fails on k=2, d=2, s=2, n=7 (checked below).
    """
    seen = {"gap": 0, "hole": 0, "hole, stride <= span": 0, "hole, gcd 1": 0, "dropped": 0}
    for n, k, s, p, d in _axes():
        span = d * (k - 1) + 1
        divisor = convlab.fold_divisor((n,), k, dilation=d, padding=p, stride=s)
        g = math.gcd(s, d)
        for y, (unread, gap, hole, dropped) in enumerate(_unread_causes(n, k, s, p, d)):
            case = (n, k, s, p, d, y)
            assert (divisor[y] == 0) == unread, case  # the rule is fold's
            assert unread == (gap + hole + dropped == 1), case  # exactly one cause
            assert not gap or s > span, case
            if g > 1 and (y + p) % g:
                assert unread, case
            seen["gap"] += gap
            seen["hole"] += hole
            seen["hole, stride <= span"] += hole and s <= span
            seen["hole, gcd 1"] += hole and g == 1
            seen["dropped"] += dropped
    assert all(seen.values()), seen
    # the old two causes miss the holes: k=2, d=2, s=2 on 7 pixels, 3 of 7 unread
    causes = _unread_causes(7, 2, 2, 0, 2)
    assert [c[0] for c in causes] == [False, True, False, True, False, True, False]
    assert not any(gap or dropped for _, gap, _, dropped in causes)


def test_a_pixel_is_unread_when_its_row_or_its_column_is():
    """[sec-fold-undone]
    > A pixel of the image is read when its row satisfies {eq}`eq-pixel-read` along the
    > height and its column along the width.

    [sec-fold-undone]
    > In two dimensions a pixel is unread when its row or its column is.

    Random pairs of axes of the wide grid (different parameters along H and W): the 2-D
    divisor is zero exactly where the row or the column is unread by the 1-D rule.
    """
    axes = list(_axes())
    rng = random.Random(0)
    for _ in range(400):
        (H, kh, sh, ph, dh), (W, kw, sw, pw, dw) = rng.sample(axes, 2)
        divisor = convlab.fold_divisor(
            (H, W), (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw)
        )
        rows = torch.tensor([c[0] for c in _unread_causes(H, kh, sh, ph, dh)])
        cols = torch.tensor([c[0] for c in _unread_causes(W, kw, sw, pw, dw)])
        assert torch.equal(divisor == 0, rows[:, None] | cols[None, :]), (H, W)


def test_dilation_gaps_leave_pixels_no_block_reads():
    """[sec-fold-undone]
    > With the hole's parameters on a 7 x 7 image, 4 rows and 4 columns are read, so 33 of
    > the 49 pixels are unread, although the stride 2 is smaller than the span 3 and the
    > floor drops nothing

    torch's own fold of ones, not convlab's: 33 zeros, the last block's span ends on the
    last pixel (nothing dropped), and the stride is smaller than the span.
    """
    ones = torch.ones(1, 1, 7, 7)
    D = F.fold(F.unfold(ones, 2, dilation=2, stride=2), (7, 7), 2, dilation=2, stride=2)
    assert int((D == 0).sum()) == 33
    L = (7 - 3) // 2 + 1
    assert 2 * (L - 1) + 3 == 7 and 2 < 3
    assert convlab.fold_divisor((7,), 2, dilation=2, stride=2).tolist() == [1, 0, 2, 0, 2, 0, 1]


def test_the_forum_case_is_of_the_hole_kind():
    """[sec-fold-undone]
    > `stride` and `dilation` share the factor 2, so every tap lands on an even row and an
    > even column, and three pixels in four are never read, although the stride 2 is
    > smaller than the span 5. (The last row and column, 223, also lie past the last
    > block's span.)

    The 1-D causes of k=3, d=2, s=2 on 224: every odd index unread, 111 holes and the
    last index dropped; torch's 2-D divisor has 224*224 - 112*112 zeros.
    """
    causes = _unread_causes(224, 3, 2, 0, 2)
    assert [c[0] for c in causes] == [y % 2 == 1 for y in range(224)]
    assert sum(c[2] for c in causes) == 111 and [y for y, c in enumerate(causes) if c[3]] == [223]
    ones = torch.ones(1, 1, 224, 224)
    D = F.fold(F.unfold(ones, 3, dilation=2, stride=2), (224, 224), 3, dilation=2, stride=2)
    assert int((D == 0).sum()) == 224 * 224 - 112 * 112 == 224 * 224 * 3 // 4


def test_fold_can_be_undone_exactly_when_every_row_and_column_is_read():
    """[sec-fold-undone]
    > A zero in the divisor means that no block reads that pixel, so nothing in `unfold(x)`
    > remembers it.

    [sec-fold-undone]
    > `fold` can be undone, by dividing by the divisor, exactly when every row and every
    > column is read.

    [sec-divisor]
    > So `fold` followed by a division by the divisor *does* invert `unfold`, provided the
    > divisor has no zeros.

    When every row and column is read, fold(unfold(x)) / divisor == x for random x.
    When one is not, two images that differ only on an unread pixel have the same
    unfold: no function of unfold(x), fold or other, can give x back.
    """
    axes = list(_axes())
    rng = random.Random(1)
    both = {True: 0, False: 0}
    for _ in range(400):
        (H, kh, sh, ph, dh), (W, kw, sw, pw, dw) = rng.sample(axes, 2)
        kw_ = dict(kernel_size=(kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
        all_read = not any(c[0] for c in _unread_causes(H, kh, sh, ph, dh)) and not any(
            c[0] for c in _unread_causes(W, kw, sw, pw, dw)
        )
        x = torch.randn(2, 3, H, W, dtype=torch.float64)
        cols = F.unfold(x, **kw_)
        divisor = F.fold(F.unfold(torch.ones_like(x), **kw_), (H, W), **kw_)
        assert bool((divisor > 0).all()) == all_read
        if all_read:
            torch.testing.assert_close(F.fold(cols, (H, W), **kw_) / divisor, x)
        else:
            y, z = [int(v[0]) for v in (divisor[0, 0] == 0).nonzero(as_tuple=True)]
            other = x.clone()
            other[:, :, y, z] += 1.0
            assert torch.equal(F.unfold(other, **kw_), cols)
        both[all_read] += 1
    assert all(both.values()), both


def test_fold_of_unfold_multiplies_each_pixel_by_its_block_count():
    r"""[ch-fold]
    > it takes columns and adds each one back where its block came from. *Adds*: where
    > blocks overlap, their values pile up.

    [sec-fold-adds]
    > \mathrm{fold}(\mathrm{cols})[n, c, y] \;=\; \sum_{(r,\,l)\ \text{reading}\ y}
    > \mathrm{cols}[n,\; cK + r,\; l],

    [sec-fold-adds]
    > so `fold(unfold(x))` multiplies each pixel by the number of blocks that read it.

    [sec-divisor]
    > How many blocks cover each pixel depends only on the shape and the parameters. Folding
    > the unfolded ones counts it

    [sec-divisor]
    > PyTorch's documentation states the identity `fold(unfold(x)) == divisor * x`, with
    > `divisor = fold(unfold(ones_like(x)))`:

    The sum is built entry by entry from unfold of a pixel-number image (which pixel
    each entry reads) and compared with F.fold of random columns; the count of blocks
    reading each pixel, from the same numbering, is the ratio fold(unfold(x)) / x for
    random x of any batch and channels, and equals fold of unfolded ones.
    """
    gen = torch.Generator().manual_seed(0)
    for H, W, k, s, p, d in itertools.product(
        (3, 6, 9), (4, 7), (1, 2, 3), (1, 2, 3, 4), (0, 1, 2), (1, 2, 3)
    ):
        kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
        if d * (k - 1) + 1 > min(H, W) + 2 * p:
            continue
        ids = F.unfold(torch.arange(1.0, H * W + 1).view(1, 1, H, W), **kw)[0].long() - 1
        K, L = ids.shape
        C = 2
        cols = torch.randn(1, C * K, L, generator=gen, dtype=torch.float64)
        want = torch.zeros(1, C, H * W, dtype=torch.float64)
        count = torch.zeros(H * W, dtype=torch.float64)
        for r, l in itertools.product(range(K), range(L)):
            if ids[r, l] >= 0:
                count[ids[r, l]] += 1
                for c in range(C):
                    want[0, c, ids[r, l]] += cols[0, c * K + r, l]
        torch.testing.assert_close(F.fold(cols, (H, W), **kw), want.view(1, C, H, W))
        x = torch.randn(2, 3, H, W, generator=gen, dtype=torch.float64)
        back = F.fold(F.unfold(x, **kw), (H, W), **kw)
        torch.testing.assert_close(back, count.view(H, W) * x)
        ones = F.fold(F.unfold(torch.ones_like(x), **kw), (H, W), **kw)
        assert torch.equal(ones[0, 0], count.view(H, W))


def test_fold_checks_only_the_product_of_the_block_counts():
    """[sec-output-size]
    > so it recomputes the number of blocks *from* `output_size`

    [sec-output-size]
    > `fold` checks only the *number* of blocks, the product `L`, not the grid they form:

    For every output_size on a grid and every L near the block count, F.fold accepts
    exactly when the block counts of the two sides (the size formula) multiply to L.
    """
    for k, s, p, d in itertools.product((1, 2, 3), (1, 2, 3), (0, 1), (1, 2)):
        span = d * (k - 1) + 1
        for L in (4, 6, 12):
            cols = torch.zeros(1, k * k, L)
            for H, W in itertools.product(range(1, 16), range(1, 16)):
                fits = H + 2 * p >= span and W + 2 * p >= span
                if fits:
                    bh, bw = ((n + 2 * p - span) // s + 1 for n in (H, W))
                    fits = bh * bw == L
                try:
                    F.fold(cols, (H, W), k, d, p, s)
                    accepted = True
                except RuntimeError:
                    accepted = False
                assert accepted == fits, (k, s, p, d, L, H, W)


def test_unfold_rows_are_channel_major_and_fold_divides_them():
    """[sec-output-size]
    > its middle dimension is not a height: it holds `C * kH * kW` rows, every channel's
    > taps, channel by channel:

    [sec-output-size]
    > `fold` divides their number by `kH * kW` to find the channels, and refuses a number
    > it cannot divide:

    [sec-output-size]
    > It is also the block grid: `L` is its product.

    Rows: unfold of each channel alone is the matching slice of rows. fold: every row
    count from 1 to 3 * kH * kW is accepted exactly when kH * kW divides it, and the
    channels are the quotient. L is the product of conv_output_shape (and of torch's
    conv2d's output size) over a grid.
    """
    for (kh, kw), C, s, d, p in itertools.product(
        [(1, 1), (2, 3), (3, 3)], (1, 3), (1, 2), (1, 2), (0, 1)
    ):
        x = torch.randn(2, C, 8, 9)
        kw_ = dict(kernel_size=(kh, kw), dilation=d, padding=p, stride=s)
        cols = F.unfold(x, **kw_)
        K = kh * kw
        assert cols.shape[1] == C * K
        for c in range(C):
            assert torch.equal(cols[:, c * K : (c + 1) * K], F.unfold(x[:, c : c + 1], **kw_))
        out = F.conv2d(x, torch.ones(1, C, kh, kw), stride=s, padding=p, dilation=d)
        grid = convlab.conv_output_shape((8, 9), (kh, kw), stride=s, padding=p, dilation=d)
        assert cols.shape[2] == grid[0] * grid[1] and tuple(out.shape[2:]) == grid
        for rows in range(1, 3 * K + 1):
            some = torch.zeros(1, rows, cols.shape[2])
            try:
                got = F.fold(some, (8, 9), **kw_)
                assert rows % K == 0 and got.shape[1] == rows // K
            except RuntimeError:
                assert rows % K


def test_fold_with_kernel_size_1_is_a_reshape_to_the_convolution_output_size():
    """[sec-output-size]
    > it is a matrix of weights times the columns, one output channel per row of weights,
    > and a *reshape* of the `L` columns into the 110 x 110 grid

    [sec-output-size]
    > the forum's reply sums the columns, which is the case of one output channel and
    > weights all ones

    [sec-output-size]
    > A `fold` with `kernel_size=1` takes the convolution's output size as its
    > `output_size`, and it is that reshape

    For convolutions over a grid, weight @ unfold(x) folded with kernel_size=1 to the
    convolution's output size equals F.conv2d and the plain view.
    """
    for k, s, p, d in itertools.product((1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2)):
        x = torch.randn(2, 3, 11, 9, dtype=torch.float64)
        if d * (k - 1) + 1 > 9 + 2 * p:
            continue
        weight = torch.randn(4, 3, k, k, dtype=torch.float64)
        out = F.conv2d(x, weight, stride=s, padding=p, dilation=d)
        rows = weight.view(4, -1) @ F.unfold(x, k, d, p, s)
        folded = F.fold(rows, out.shape[2:], kernel_size=1)
        assert torch.equal(folded, rows.view(out.shape))
        torch.testing.assert_close(folded, out)
        summed = F.unfold(x, k, d, p, s).sum(dim=1).view(2, 1, *out.shape[2:])
        ones = torch.ones(1, 3, k, k, dtype=torch.float64)
        torch.testing.assert_close(summed, F.conv2d(x, ones, stride=s, padding=p, dilation=d))


def test_fold_output_sizes_for_lists_every_size_that_fits():
    """[sec-output-size]
    > `convlab.fold_output_sizes_for` lists, per dimension, every size that fits a block
    > grid:

    For block grids and parameters over a grid, the sizes listed per dimension are
    exactly the sizes (brute force up to 60) that F.fold accepts for that grid.
    """
    for k, s, p, d in itertools.product((1, 2, 3), (1, 2, 3, 4), (0, 1, 2), (1, 2, 3)):
        for grid in [(1, 1), (2, 3), (5, 4)]:
            try:
                listed = convlab.fold_output_sizes_for(grid, k, dilation=d, padding=p, stride=s)
            except ValueError:
                continue
            if not all(listed):  # padding so large that no size of at least 1 fits
                continue
            cols = torch.zeros(1, k * k, grid[0] * grid[1])
            for axis in (0, 1):
                found = []
                for n in range(1, 60):
                    size = [n, n]
                    size[1 - axis] = listed[1 - axis][0]
                    try:
                        F.fold(cols, tuple(size), k, d, p, s)
                    except RuntimeError:
                        continue
                    blocks = (n + 2 * p - d * (k - 1) - 1) // s + 1
                    if blocks == grid[axis]:
                        found.append(n)
                assert tuple(found) == tuple(listed[axis]), (k, s, p, d, grid, axis)


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


def test_fold_crops_what_lands_on_the_padding():
    """[sec-fold-adds]
    > with `padding`, blocks also land on the (hatched) zeros, and `fold` crops them away.

    fold with padding p equals fold without padding onto the padded size, cropped by p,
    over a grid; the columns' entries that read padding change nothing in the result.
    """
    gen = torch.Generator().manual_seed(0)
    for H, W, k, s, p, d in itertools.product(
        (3, 6), (4, 7), (1, 2, 3), (1, 2, 3), (1, 2, 4), (1, 2)
    ):
        if d * (k - 1) + 1 > min(H, W) + 2 * p:
            continue
        kw = dict(kernel_size=k, dilation=d, stride=s)
        L = convlab.num_blocks((H, W), k, dilation=d, padding=p, stride=s)
        cols = torch.randn(1, 2 * k * k, L, generator=gen, dtype=torch.float64)
        full = F.fold(cols, (H + 2 * p, W + 2 * p), **kw)
        torch.testing.assert_close(F.fold(cols, (H, W), padding=p, **kw), full[:, :, p:-p, p:-p])
