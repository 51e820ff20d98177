"""The general sentences of Chapter 2, Putting blocks back (`fold`), each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import math
import random

import pytest
import torch
import torch.nn.functional as F

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
    > Dilation changes the rule. With `kernel_size=4, stride=2, dilation=2`
    > (bottom panel, 12 x 12) every block starts on an even index and all its taps land on
    > even indices, so every odd row and column is never covered, and the covered ones are
    > uneven too: row 2 counts `2 4 6 6 4 2` on its covered pixels.

    [sec-uneven-overlap]
    > only three blocks fit in 12: along one axis no index is read by four taps.

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

    [sec-fold-summary]
    > With `dilation=1`, a kernel size that is a multiple of the stride covers the inside
    > evenly and one that is not covers it as a checkerboard; the border never counts more
    > than the inside would, often less, and dilation can break the even case

    [sec-uneven-overlap]
    > In the top left panel (`kernel_size=3, stride=2` on 9 x 9), along each axis, the
    > first two and the last two pixels are read by one block each, where the inside
    > alternates 2 and 1.

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


def _grid(max_size=16, seed=0):
    """(H, W, kw) over kernel 1-5, stride 1-4, padding 0-4, dilation 1-4 on the first
    axis and a random pair on the second, images of random sizes the blocks fit."""
    rng = random.Random(seed)
    for k, s, p, d in itertools.product(range(1, 6), range(1, 5), range(5), range(1, 5)):
        k2, s2, p2, d2 = rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 4), rng.randint(1, 4)
        spans = (d * (k - 1) + 1 - 2 * p, d2 * (k2 - 1) + 1 - 2 * p2)
        H, W = (rng.randint(max(1, span), max(1, span, max_size)) for span in spans)
        yield H, W, dict(kernel_size=(k, k2), dilation=(d, d2), padding=(p, p2), stride=(s, s2))


def test_unfold_matrix_rows_hold_one_1_or_none_on_padding():
    """[sec-fold-adjoint]
    > row $(r, l)$ holds a single 1, in the column of the pixel that entry $r$ of block
    > $l$ copies (or no 1 at all, when that entry reads padding).

    U built column by column from unfold of one-pixel images; each row compared with
    the padded index of the tap (block start s*t, tap offset d*j), the padding
    computed apart. Small images (up to 7) over every parameter.
    """
    for H, W, kw in _grid(max_size=7):
        U = _unfold_matrix((H, W), **kw)
        assert set(U.unique().tolist()) <= {0.0, 1.0}
        assert bool((U.sum(1) <= 1).all())
        numbers = torch.arange(1.0, H * W + 1, dtype=torch.float64).view(1, 1, H, W)
        reads = F.unfold(numbers, **kw).reshape(-1)  # 0 where an entry reads padding
        expected = torch.zeros_like(U)
        rows = torch.nonzero(reads).flatten()
        expected[rows, reads[rows].long() - 1] = 1
        assert torch.equal(U, expected), (H, W, kw)


def test_autograd_gradient_of_unfold_is_fold_and_converse():
    r"""[sec-fold-adjoint]
    > If $c = \mathrm{unfold}(x)$ and a loss has the gradient $y$ at $c$, the chain rule
    > gives $U^\top y$ at $x$: **the gradient of `unfold` is `fold`**.

    [sec-fold-adjoint]
    > `torch.autograd.grad` with `grad_outputs=y` computes exactly that product (a
    > vector-Jacobian product)

    [sec-fold-adjoint]
    > And the converse, **the gradient of `fold` is `unfold`**

    [sec-fold-summary]
    > Autograd's gradient of `unfold` is `fold` and the gradient of `fold` is `unfold`

    torch.autograd.grad with random grad_outputs, every parameter, float64, exact.
    """
    gen = torch.Generator().manual_seed(1)
    for H, W, kw in _grid():
        x = torch.randn(2, 3, H, W, dtype=torch.float64, generator=gen, requires_grad=True)
        y = torch.randn(F.unfold(x, **kw).shape, dtype=torch.float64, generator=gen)
        y.requires_grad_(True)
        (gx,) = torch.autograd.grad(F.unfold(x, **kw), x, grad_outputs=y.detach())
        assert torch.equal(gx, F.fold(y.detach(), (H, W), **kw)), (H, W, kw)
        (gy,) = torch.autograd.grad(F.fold(y, (H, W), **kw), y, grad_outputs=x.detach())
        assert torch.equal(gy, F.unfold(x.detach(), **kw)), (H, W, kw)


def test_unfold_backward_runs_col2im_and_fold_backward_runs_im2col():
    """[sec-fold-adjoint]
    > the backward of `F.unfold` runs `aten.col2im`, the very kernel behind `F.fold`
    > (and `F.fold`'s backward runs `aten.im2col`, `unfold`'s kernel).

    [sec-fold-adjoint]
    > Any layer built on `unfold` (a convolution is a weight matrix times `unfold(x)`,
    > {ref}`3. Convolution is a matrix multiplication <ch-matmul>`) needs `fold` to send its
    > gradient back to its input.

    [sec-fold-docstring]
    > `F.unfold` dispatches `aten.im2col` (and `F.fold`, `aten.col2im`).

    Recorded at the dispatcher (convlab.aten), forward and backward apart, float32
    and float64, with and without padding.
    """
    from convlab import aten

    for dtype, kw in itertools.product(
        (torch.float32, torch.float64), (dict(kernel_size=3), dict(kernel_size=2, padding=1))
    ):
        x = torch.randn(1, 2, 6, 5, dtype=dtype, requires_grad=True)
        with aten.record_aten_ops() as forward:
            cols = F.unfold(x, **kw)
        with aten.record_aten_ops() as backward:
            cols.backward(torch.ones_like(cols))
        assert aten.calls(forward, "unfold") == ["im2col"] and not aten.calls(forward, "fold")
        assert aten.calls(backward, "fold") == ["col2im"]
        c = cols.detach().requires_grad_(True)
        with aten.record_aten_ops() as forward:
            out = F.fold(c, (6, 5), **kw)
        with aten.record_aten_ops() as backward:
            out.backward(torch.ones_like(out))
        assert aten.calls(forward, "fold") == ["col2im"] and not aten.calls(forward, "unfold")
        assert aten.calls(backward, "unfold") == ["im2col"]
        # a convolution written with unfold: its input gradient goes through fold
        weight = torch.randn(4, 2 * _kernel_numel(kw["kernel_size"]), dtype=dtype)
        with aten.record_aten_ops() as backward:
            (weight @ F.unfold(x, **kw)).sum().backward()
        assert aten.calls(backward, "fold") == ["col2im"]


def test_transposed_convolution_is_a_matrix_product_then_one_fold():
    r"""[sec-fold-adjoint]
    > a convolution is the matrix $W U$, its transpose is $U^\top W^\top$, a matrix
    > product followed by one `fold` with the convolution's own parameters, and that is
    > the transposed convolution ({ref}`One fold with the convolution's own parameters
    > <sec-one-fold>`), which is why it computes a
    > convolution's gradient ({ref}`4.6 Not an inverse, but the gradient <sec-gradient>`).

    conv_transpose2d(y, w, s, p, d) against fold(W^T y) with the convolution's
    kernel_size, dilation, padding and stride and output_size the convolution's input
    size, over every parameter; against autograd's input gradient of conv2d, and
    against conv_transpose2d with the output_padding that restores the input size.
    """
    gen = torch.Generator().manual_seed(2)
    for H, W, kw in _grid(max_size=12):
        k = kw["kernel_size"]
        x = torch.randn(1, 3, H, W, dtype=torch.float64, generator=gen, requires_grad=True)
        weight = torch.randn(2, 3, *k, dtype=torch.float64, generator=gen)
        conv = {n: v for n, v in kw.items() if n != "kernel_size"}
        y = F.conv2d(x, weight, **conv)
        g = torch.randn(y.shape, dtype=torch.float64, generator=gen)
        via_fold = F.fold(weight.view(2, -1).T @ g.flatten(2), (H, W), **kw)
        (grad,) = torch.autograd.grad(y, x, g)
        torch.testing.assert_close(via_fold, grad, msg=str((H, W, kw)))
        op = [
            n + 2 * p - d * (kk - 1) - 1 - (o - 1) * s
            for n, o, kk, s, p, d in zip(
                (H, W), y.shape[2:], k, kw["stride"], kw["padding"], kw["dilation"]
            )
        ]
        if all(a < s for a, s in zip(op, kw["stride"])):
            tconv = F.conv_transpose2d(g, weight, output_padding=op, **conv)
            torch.testing.assert_close(tconv, via_fold, msg=str((H, W, kw)))


def test_unfold_matrix_gram_is_the_diagonal_divisor():
    r"""[sec-least-squares]
    > And $U^\top U$ is diagonal, with the divisor $D$ on its diagonal: each row of $U$
    > holds at most one 1, so no row links two pixels, and pixel $y$'s diagonal entry
    > counts the rows that copy it.

    Every parameter on images up to 7 x 7.
    """
    for H, W, kw in _grid(max_size=7):
        U = _unfold_matrix((H, W), **kw)
        D = convlab.fold_divisor((H, W), **kw, dtype=torch.float64)
        assert torch.equal(U.T @ U, torch.diag(D.flatten())), (H, W, kw)


def _least_squares_cases():
    for H, W, kw in _grid(max_size=6, seed=3):
        yield H, W, kw, _unfold_matrix((H, W), **kw)


def test_fold_over_divisor_is_the_least_squares_image():
    r"""[sec-least-squares]
    > So wherever the divisor is nonzero, $$ \hat x \;=\; \arg\min_x \lVert
    > \mathrm{unfold}(x) - \mathrm{cols} \rVert^2 \;=\; \mathrm{fold}(\mathrm{cols})
    > \,/\, D , $$ (eq-least-squares) each pixel the mean of the entries that copied it;
    > where $D = 0$ no entry mentions the pixel, and every value fits equally well.

    [sec-least-squares]
    > its minimum-norm solution (driver `gelsd`) puts 0 on the free pixels, which is what
    > dividing by `D.clamp(min=1)` does

    [sec-patch-averaging]
    > the average is the image whose patches are closest to the processed ones

    [sec-fold-summary]
    > `fold(cols) / divisor` is the image whose blocks are closest to `cols` in the least
    > squares sense

    torch.linalg.lstsq (gelsd) on U for random columns, every parameter on images up
    to 6 x 6; a free pixel changed to anything leaves the residual unchanged.
    """
    gen = torch.Generator().manual_seed(4)
    for H, W, kw, U in _least_squares_cases():
        cols = torch.randn(U.shape[0], dtype=torch.float64, generator=gen)
        best = torch.linalg.lstsq(U, cols[:, None], driver="gelsd").solution[:, 0]
        D = convlab.fold_divisor((H, W), **kw, dtype=torch.float64)
        folded = F.fold(
            cols.view(1, -1, U.shape[0] // _kernel_numel(kw["kernel_size"])), (H, W), **kw
        )
        mine = (folded / D.clamp(min=1)).flatten()
        torch.testing.assert_close(mine, best, msg=str((H, W, kw)))
        free = (D == 0).flatten()
        moved = mine + free * torch.randn(H * W, dtype=torch.float64, generator=gen)
        torch.testing.assert_close((U @ moved - cols).norm(), (U @ mine - cols).norm())
        # each pixel: the mean of the entries that copied it
        for pixel in torch.nonzero(~free).flatten()[:3]:
            copies = cols[U[:, pixel] == 1]
            torch.testing.assert_close(mine[pixel], copies.mean())


def test_unfold_after_averaging_is_the_projection_onto_blocks_of_images():
    r"""[sec-least-squares]
    > The inverse works on one side only. `fold(unfold(x)) / D` gives `x` back (where
    > $D$ has no zeros), but `unfold(fold(cols) / D)` is not `cols` in general: it is the
    > blocks of the best image, the projection of `cols` onto the blocks of images (the
    > matrix $U D^{-1} U^\top$, reading $1/0$ as 0). It returns `cols` unchanged exactly
    > when `cols` already are the blocks of some image (every two entries that copy the
    > same pixel are equal, and every entry that reads padding is zero)

    [sec-fold-summary]
    > but `unfold(fold(cols) / divisor)` is `cols` only when `cols` are the blocks of
    > some image: the inverse is one-sided

    The matrix P = U D^+ U^T is symmetric, idempotent and fixes U's columns; random
    columns move unless every entry is its pixel's only copy; columns built to
    satisfy the parenthesis stay, and breaking either half of it moves them. Every
    parameter on images up to 6 x 6.
    """
    gen = torch.Generator().manual_seed(5)
    moved_some = 0
    for H, W, kw, U in _least_squares_cases():
        D = convlab.fold_divisor((H, W), **kw, dtype=torch.float64).flatten()
        P = U @ torch.diag(1 / D.clamp(min=1) * (D > 0)) @ U.T
        torch.testing.assert_close(P, P.T)
        torch.testing.assert_close(P @ P, P)
        torch.testing.assert_close(P @ U, U)
        L = U.shape[0] // _kernel_numel(kw["kernel_size"])

        def average_then_unfold(cols, size=(H, W), kw=kw, L=L, D=D):
            folded = F.fold(cols.view(1, -1, L), size, **kw).flatten()
            image = (folded / D.clamp(min=1)).view(1, 1, *size)
            return F.unfold(image, **kw).flatten()

        x = torch.randn(H * W, dtype=torch.float64, generator=gen)
        if bool((D > 0).all()):
            back = F.fold(F.unfold(x.view(1, 1, H, W), **kw), (H, W), **kw).flatten() / D
            torch.testing.assert_close(back, x)
        blocks = U @ x  # consistent: copies equal, zero on padding
        torch.testing.assert_close(average_then_unfold(blocks), blocks)
        cols = torch.randn(U.shape[0], dtype=torch.float64, generator=gen)
        unique_copies = bool((U.sum(1) == 1).all()) and bool((D <= 1).all())
        fixed = torch.allclose(average_then_unfold(cols), cols)
        assert fixed == unique_copies, (H, W, kw)
        moved_some += not fixed
        shared = torch.nonzero(D > 1).flatten()
        if len(shared):  # two copies of one pixel made unequal
            rows = torch.nonzero(U[:, shared[0]]).flatten()
            broken = blocks.clone()
            broken[rows[0]] += 1
            assert not torch.allclose(average_then_unfold(broken), broken)
        padding_rows = torch.nonzero(U.sum(1) == 0).flatten()
        if len(padding_rows):  # an entry on padding made nonzero
            broken = blocks.clone()
            broken[padding_rows[0]] = 1
            assert not torch.allclose(average_then_unfold(broken), broken)
    assert moved_some > 100


def test_padding_is_zeros_on_each_side_and_dilation_spaces_the_taps():
    """[sec-fold-docstring]
    > True: `padding=1` is one row or column of zeros on *each* side, as `F.pad` with
    > `(1, 1, 1, 1)` adds them.

    [sec-fold-docstring]
    > the first block of a 4 x 4 image of pixel numbers with `kernel_size=2, dilation=2`
    > reads the pixels 0, 2, 8 and 10

    Every parameter: unfold with padding equals unfold of F.pad's zeros without it;
    block 0 of an image of pixel numbers (no padding) reads the pixels
    (i*d_h)*W + j*d_w of its taps.
    """
    gen = torch.Generator().manual_seed(6)
    for H, W, kw in _grid():
        (ph, pw), rest = kw["padding"], {n: v for n, v in kw.items() if n != "padding"}
        x = torch.randn(1, 2, H, W, generator=gen)
        padded = F.pad(x, (pw, pw, ph, ph))
        assert torch.equal(F.unfold(x, **kw), F.unfold(padded, **rest)), (H, W, kw)
        (kh, kw_), (dh, dw) = kw["kernel_size"], kw["dilation"]
        if dh * (kh - 1) < H and dw * (kw_ - 1) < W:
            numbers = torch.arange(float(H * W)).view(1, 1, H, W)
            first = F.unfold(numbers, **rest)[0, :, 0].long().tolist()
            assert first == [i * dh * W + j * dw for i in range(kh) for j in range(kw_)]
    numbers = torch.arange(16.0).view(1, 1, 4, 4)
    assert F.unfold(numbers, 2, dilation=2)[0, :, 0].long().tolist() == [0, 2, 8, 10]


def test_an_int_is_repeated_but_a_tuple_of_one_is_refused():
    """[sec-fold-docstring]
    > Half true: an int is repeated, but a tuple of length 1 is refused (`nn.Unfold`
    > calls `F.unfold`, which raises). `convlab.unfold` repeats it, as the sentence
    > promises

    Each of the four parameters as a tuple of one, for F.unfold and nn.Unfold
    (RuntimeError), and convlab.unfold (the pair); an int equals the pair. The
    documentation's sentence ("an int or a tuple of length 1 ... replicated")
    fails here on its second half.
    """
    x = torch.randn(2, 3, 7, 6)
    base = dict(kernel_size=2, dilation=1, padding=1, stride=2)
    pairs = {n: (v, v) for n, v in base.items()}
    assert torch.equal(F.unfold(x, **base), F.unfold(x, **pairs))
    for name, value in base.items():
        one = {**base, name: (value,)}
        with pytest.raises(RuntimeError, match=f"{name} equals to 2"):
            F.unfold(x, **one)
        with pytest.raises(RuntimeError):
            torch.nn.Unfold(**one)(x)
        assert torch.equal(convlab.unfold(x, **one), F.unfold(x, **pairs))


def test_non_overlapping_blocks_are_not_inverses_with_gaps_or_padding():
    """[sec-fold-docstring]
    > True ({ref}`sec-fold-adds`), but blocks that do *not* overlap are not inverses
    > either in general: with gaps between them some pixels are never copied
    > ({ref}`sec-fold-undone`), and with padding `fold` drops what the blocks read on the
    > padding.

    [sec-fold-docstring]
    > Blocks of 2 x 2 every 2 pixels on a padded 4 x 4 image never overlap and cover every
    > pixel once, so `fold(unfold(x))` is `x`; yet `unfold(fold(y))` is not `y`

    Every parameter: blocks overlap (a divisor above 1) => fold(unfold(x)) != x (the
    documentation's own sentence); no overlap and no entry on padding and no gap =>
    both ways are identities; no overlap with a gap => fold(unfold(x)) != x; no
    overlap with an entry on padding => unfold(fold(y)) != y.
    """
    gen = torch.Generator().manual_seed(7)
    seen = dict(overlap=0, exact=0, gap=0, padding=0)
    tilings = [
        (k * m, k * m2, dict(kernel_size=k, stride=k, padding=0, dilation=1))
        for k, m, m2 in itertools.product(range(1, 6), range(1, 4), range(1, 4))
    ]
    for H, W, kw in itertools.chain(_grid(), tilings):
        D = convlab.fold_divisor((H, W), **kw)
        x = torch.randn(1, 1, H, W, generator=gen, dtype=torch.float64)
        y = torch.randn(F.unfold(x, **kw).shape, generator=gen, dtype=torch.float64)
        left = torch.equal(F.fold(F.unfold(x, **kw), (H, W), **kw), x)
        right = torch.equal(F.unfold(F.fold(y, (H, W), **kw), **kw), y)
        reads_padding = bool((F.unfold(torch.ones_like(x), **kw) == 0).any())
        if bool((D > 1).any()):
            assert not left and not right, (H, W, kw)
            seen["overlap"] += 1
            continue
        assert left == bool((D == 1).all()), (H, W, kw)
        assert right == (not reads_padding), (H, W, kw)
        seen["gap"] += not left
        seen["padding"] += reads_padding
        seen["exact"] += left and right
    assert all(seen.values()), seen
    x, y = torch.randn(1, 1, 4, 4), torch.randn(1, 4, 9)
    kw = dict(kernel_size=2, padding=1, stride=2)
    assert bool((convlab.fold_divisor((4, 4), **kw) == 1).all())
    assert torch.equal(F.fold(F.unfold(x, **kw), (4, 4), **kw), x)
    assert not torch.equal(F.unfold(F.fold(y, (4, 4), **kw), **kw), y)


def test_fold_unfold_is_divisor_times_input_up_to_rounding():
    """[sec-fold-docstring]
    > True ({ref}`sec-divisor`; it also depends on the parameters, which both share), up
    > to rounding: `fold` adds a pixel's copies one by one, and in floating point a sum
    > of six copies of $x$ is not always $6x$ (here pixels have up to nine copies).

    Every parameter, float32: allclose always, with the divisor of ones of the same
    shape and dtype; bitwise equality fails in some cases (so `==` as written is
    not a guarantee); a sum of six float32 copies of x differs from 6 * x for some x
    (an earlier wording said three copies: x + x + x is always exactly 3 * x, as
    checked here too); the example's divisor reaches 9.
    """
    gen = torch.Generator().manual_seed(8)
    unequal = 0
    for H, W, kw in _grid():
        x = torch.randn(2, 2, H, W, generator=gen)
        divisor = F.fold(F.unfold(torch.ones_like(x), **kw), (H, W), **kw)
        back = F.fold(F.unfold(x, **kw), (H, W), **kw)
        torch.testing.assert_close(back, divisor * x)
        unequal += not torch.equal(back, divisor * x)
    assert unequal > 0
    x = torch.randn(1000, generator=gen)
    assert bool((x + x + x == 3 * x).all())
    assert bool((x + x + x + x + x + x != 6 * x).any())
    assert int(convlab.fold_divisor((16, 16), 3).max()) == 9


def test_the_divisor_is_a_count_per_pixel_and_the_inverse_is_left_only():
    """[sec-fold-docstring]
    > The divisor is in general not a constant: it is one count per pixel, here 1, 2 and
    > 4. And the inverse is one-sided ({ref}`sec-least-squares`): `fold(unfold(x)) /
    > divisor` is `x`, but `unfold(fold(y) / divisor)` is not `y` unless `y` are the
    > blocks of some image. What is exact: when the divisor has no zeros, `fold(·) /
    > divisor` is a *left* inverse of `unfold`.

    [sec-patch-averaging]
    > Doing nothing to each patch must give the image back

    [sec-fold-summary]
    > loose about the inverse (the divisor is not a constant, and the inverse is
    > one-sided)

    The example's counts; every parameter whose divisor has no zeros: the left
    inverse holds; unfold(fold(y) / divisor) == y for y = unfold(x), and for random y
    only when each entry is its pixel's only copy and none reads padding. The
    documentation's "inverses of each other" fails on the right side.
    """
    assert convlab.fold_divisor((7, 7), 3, stride=2).unique().long().tolist() == [1, 2, 4]
    gen = torch.Generator().manual_seed(9)
    not_constant = 0
    for H, W, kw in _grid():
        D = convlab.fold_divisor((H, W), **kw, dtype=torch.float64)
        if bool((D == 0).any()):
            continue
        not_constant += len(D.unique()) > 1
        x = torch.randn(1, 2, H, W, generator=gen, dtype=torch.float64)
        torch.testing.assert_close(F.fold(F.unfold(x, **kw), (H, W), **kw) / D, x)
        blocks = F.unfold(x, **kw)
        torch.testing.assert_close(F.unfold(F.fold(blocks, (H, W), **kw) / D, **kw), blocks)
        y = torch.randn(blocks.shape, generator=gen, dtype=torch.float64)
        again = F.unfold(F.fold(y, (H, W), **kw) / D, **kw)
        single = bool((D == 1).all()) and not bool((F.unfold(torch.ones_like(x), **kw) == 0).any())
        assert torch.allclose(again, y) == single, (H, W, kw)
    assert not_constant > 20


def test_unfold_takes_batched_or_unbatched_images_and_nothing_else():
    r"""[sec-fold-docstring]
    > Too strict in torch 2.13, as {ref}`What the nn.Unfold docstring says about unfold
    > <sec-unfold-docstring>` found for `unfold`: a 3-D
    > input `(C, H, W)`, one unbatched image, works too and
    > gives `(C * K, L)`; what is refused is any other number of *spatial* dimensions (a
    > 5-D volume, or a 2-D `(H, W)` with no channel axis). `fold` likewise takes `(N, C *
    > K, L)` or unbatched `(C * K, L)`.

    [sec-fold-docstring]
    > There is no other case: the two spatial dimensions are the only ones it accepts

    [sec-fold-docstring]
    > The **Shape** line "Input: $(N, C, *)$" reads as if any number of spatial
    > dimensions worked; `*` must be exactly two. The output, `(N, C * prod(kernel_size),
    > L)`, is right.

    [sec-fold-summary]
    > wrong about tuples of length 1 (refused) and 4-D input only (3-D unbatched input
    > works)

    Every parameter: unbatched unfold and fold equal the batched ones' first item,
    with F and nn; the output shape is (N, C * prod(k), L); 1-D, 2-D, 5-D and 6-D
    inputs are refused by unfold; fold refuses 1-D and 4-D columns. The
    documentation's warning ("only 4-D input tensors") fails on the 3-D case.
    """
    gen = torch.Generator().manual_seed(10)
    for H, W, kw in _grid():
        x = torch.randn(1, 3, H, W, generator=gen)
        cols = F.unfold(x, **kw)
        L = convlab.num_blocks((H, W), **kw)
        assert cols.shape == (1, 3 * _kernel_numel(kw["kernel_size"]), L)
        assert torch.equal(F.unfold(x[0], **kw), cols[0])
        assert torch.equal(torch.nn.Unfold(**kw)(x[0]), cols[0])
        assert torch.equal(F.fold(cols[0], (H, W), **kw), F.fold(cols, (H, W), **kw)[0])
        assert torch.equal(torch.nn.Fold((H, W), **kw)(cols[0]), F.fold(cols, (H, W), **kw)[0])
    for shape in [(6,), (5, 6), (1, 1, 4, 5, 6), (1, 1, 1, 4, 5, 6)]:
        with pytest.raises((RuntimeError, IndexError)):
            F.unfold(torch.randn(shape), 2)
    for shape in [(8,), (1, 4, 2, 3)]:
        with pytest.raises(RuntimeError):
            F.fold(torch.randn(shape), (3, 4), 2)


def test_the_documentation_examples():
    """[sec-fold-docstring]
    > The counts are right, $5 \\cdot 2 \\cdot 3 = 30$ and
    > $(3 - 2 + 1)(4 - 3 + 1) = 4$; the picture of 6 vectors of 5 channels is not the layout of
    > a column, which holds 5 channels of 6 values each

    [sec-fold-docstring]
    > True: a `fold` with `kernel_size=1` only rearranges the columns into the output's
    > shape (one column per pixel, no overlap), and `view` does that without copying.

    The first example's shape; the second example run as written (allclose to
    conv2d; the view shares the matmul's storage); fold with kernel_size 1 equals
    the reshape for every image size up to 16 and channels up to 4, and copies.
    """
    assert torch.nn.Unfold(kernel_size=(2, 3))(torch.randn(2, 5, 3, 4)).shape == (2, 30, 4)
    # a column: channel 0's 6 values, then channel 1's, ... (channel-major)
    x = torch.arange(2 * 5 * 3 * 4.0).view(2, 5, 3, 4)
    col = torch.nn.Unfold(kernel_size=(2, 3))(x)[0, :, 0]
    assert torch.equal(col.view(5, 6), x[0, :, :2, :3].reshape(5, 6))
    inp = torch.randn(1, 3, 10, 12)
    w = torch.randn(2, 3, 4, 5)
    inp_unf = torch.nn.functional.unfold(inp, (4, 5))
    out_unf = inp_unf.transpose(1, 2).matmul(w.view(w.size(0), -1).t()).transpose(1, 2)
    out = torch.nn.functional.fold(out_unf, (7, 8), (1, 1))
    view = out_unf.view(1, 2, 7, 8)
    assert torch.allclose(F.conv2d(inp, w), out, atol=1e-4)
    assert torch.equal(view, out) and view.data_ptr() == out_unf.data_ptr()
    assert out.data_ptr() != out_unf.data_ptr()
    for H, W, C in itertools.product(range(1, 17), range(1, 17), range(1, 5)):
        cols = torch.randn(2, C, H * W)
        assert torch.equal(F.fold(cols, (H, W), 1), cols.view(2, C, H, W))


def test_patch_means_averaged_back_and_average_pooling():
    """[sec-patch-averaging]
    > every pixel becomes the average of the means of the patches that contain it

    [sec-patch-averaging]
    > The patch means themselves are an average pooling

    Every size up to 16, kernel 1-5, stride 1-4, padding up to k // 2 (what
    avg_pool2d accepts; its default counts the padding's zeros, as unfold's
    blocks do): the patch means against avg_pool2d, and the averaged image
    against a direct mean over the blocks that contain each pixel.
    """
    gen = torch.Generator().manual_seed(11)
    for n, k, s in itertools.product(range(1, 17), range(1, 6), range(1, 5)):
        for p in range(k // 2 + 1):
            if k > n + 2 * p:
                continue
            x = torch.randn(1, 2, n, n, generator=gen, dtype=torch.float64)
            kw = dict(kernel_size=k, padding=p, stride=s)
            cols = F.unfold(x, **kw).view(1, 2, k * k, -1)  # (N, C, K, L)
            means = cols.mean(2)  # (N, C, L)
            pooled = F.avg_pool2d(x, **kw)
            torch.testing.assert_close(means.view(pooled.shape), pooled)
            if p:
                continue
            spread = means[:, :, None].expand_as(cols).reshape(1, 2 * k * k, -1)
            D = convlab.fold_divisor((n, n), k, stride=s, dtype=torch.float64)
            smooth = F.fold(spread, (n, n), k, stride=s) / D.clamp(min=1)
            L1 = (n - k) // s + 1
            for y, x_ in [(0, 0), (n // 2, n // 3), (n - 1, n - 1)]:
                blocks = [
                    (a, b)
                    for a in range(L1)
                    for b in range(L1)
                    if a * s <= y < a * s + k and b * s <= x_ < b * s + k
                ]
                if blocks:
                    want = torch.stack([means[0, :, a * L1 + b] for a, b in blocks]).mean(0)
                    torch.testing.assert_close(smooth[0, :, y, x_], want)


def test_a_sum_over_blocks_is_a_convolution():
    """[sec-sum-to-conv]
    > Summing every block is a convolution with an all-ones kernel.

    [sec-sum-to-conv]
    > A sum with *weights* is the same thing with any kernel: one row of weights per
    > output channel, times the matrix of columns.

    [sec-fold-summary]
    > A reduction over each column is a convolution: all-ones weights sum, any weights
    > convolve

    Every parameter (uneven pairs too), 3 channels in, 2 out, float64.
    """
    gen = torch.Generator().manual_seed(12)
    for H, W, kw in _grid():
        x = torch.randn(2, 3, H, W, generator=gen, dtype=torch.float64)
        conv = {n: v for n, v in kw.items() if n != "kernel_size"}
        cols = F.unfold(x, **kw)  # (N, C*K, L)
        ones = torch.ones(1, 3, *kw["kernel_size"], dtype=torch.float64)
        out = F.conv2d(x, ones, **conv)
        torch.testing.assert_close(cols.sum(1).view(out.shape), out)
        weight = torch.randn(2, 3, *kw["kernel_size"], generator=gen, dtype=torch.float64)
        out = F.conv2d(x, weight, **conv)
        torch.testing.assert_close((weight.view(2, -1) @ cols).view(out.shape), out)


def test_weights_cancel_without_overlap():
    """[sec-fold-exercises]
    > So every pixel is the weighted mean of the entries that copied it; with all weights
    > 1, this is {eq}`eq-least-squares`. The weights do not matter when every pixel is read
    > by at most one block (no overlap, e.g. `stride` equal to `kernel_size` without
    > dilation) and every weight is positive: each weight then cancels. A zero weight is
    > different: the pixels only its block reads lose their value (their weighted mean is
    > $0/0$; the checker's reference sets them to 0). Equal positive weights never matter,
    > overlap or not.

    The exercise's reference against fold / divisor with all weights 1, with equal
    weights 0.5, and with random positive weights whenever the divisor is at most 1;
    with overlap, random weights change the answer; a zero weight on block 0 turns the
    pixels only block 0 reads to 0 where fold / divisor keeps their values. Every
    parameter.
    """
    from convlab import exercises

    gen = torch.Generator().manual_seed(13)
    changed = zeros = 0
    for H, W, kw in _grid(max_size=10):
        pairs = {n: (v, v) if isinstance(v, int) else v for n, v in kw.items()}
        cols = torch.randn(F.unfold(torch.zeros(1, 2, H, W), **kw).shape, generator=gen)
        L = cols.shape[-1]
        D = convlab.fold_divisor((H, W), **kw)
        plain = F.fold(cols, (H, W), **kw) / D.clamp(min=1)
        ones = exercises._weighted_average(cols, torch.ones(1, L), (H, W), **pairs)
        torch.testing.assert_close(ones, plain)
        halves = exercises._weighted_average(cols, torch.full((1, L), 0.5), (H, W), **pairs)
        torch.testing.assert_close(halves[..., D > 0], plain[..., D > 0])
        zero = torch.ones(1, L)
        zero[0, 0] = 0  # block 0 weighs nothing: the pixels only it reads lose their value
        K = F.unfold(torch.zeros(1, 1, H, W), **kw).shape[1]
        only0 = torch.zeros(1, K, L)
        only0[..., 0] = 1
        lonely = (F.fold(only0, (H, W), **kw)[0, 0] > 0) & (D == 1)
        got = exercises._weighted_average(cols, zero, (H, W), **pairs)
        assert bool((got[0, :, lonely] == 0).all())  # the reference's 0 for 0 / 0
        zeros += bool((plain[0, :, lonely] != 0).any())
        weights = 0.1 + torch.rand(1, L, generator=gen)
        weighted = exercises._weighted_average(cols, weights, (H, W), **pairs)
        if bool((D <= 1).all()):
            torch.testing.assert_close(weighted, plain)
        else:
            changed += not torch.allclose(weighted, plain)
    assert changed > 100 and zeros > 100


def test_the_answers_to_the_explorer_questions_of_uneven_overlap():
    """[sec-uneven-overlap]
    > Rows 2 and 4: each is read by two blocks (the ones starting at rows 0 and 2, and at
    > 2 and 4); the other rows by one.

    [sec-uneven-overlap]
    > Every odd row and every odd column: `stride` and `dilation` are both even, so every
    > tap lands on an even index. `stride=1` starts a block at every index and covers every
    > pixel; `stride=3` starts blocks at 0 and 3 only, whose taps read indices 0, 2, 3 and
    > 5, so rows and columns 1, 4 and 6 stay at 0.

    The explorer's counts are fold's (tests/test_scenes.py); here fold's divisor on
    the 7 x 7 image, and the rule of both even over every size up to 16.
    """
    assert _axis_counts(7, 3, 2, 0)[0] == [1, 1, 2, 1, 2, 1, 1]
    assert _axis_counts(7, 2, 2, 0, 2)[0] == [1, 0, 2, 0, 2, 0, 1]
    assert _axis_counts(7, 2, 1, 0, 2)[0] == [1, 1, 2, 2, 2, 1, 1]
    assert _axis_counts(7, 2, 3, 0, 2)[0] == [1, 0, 1, 1, 0, 1, 0]
    div = convlab.fold_divisor((7, 7), 2, stride=3, dilation=2)
    assert torch.nonzero((div == 0).all(1)).flatten().tolist() == [1, 4, 6]
    for n, s, d in itertools.product(range(1, 17), (2, 4), (2, 4)):
        if d + 1 <= n:
            counts, _ = _axis_counts(n, 2, s, 0, d)
            assert all(c == 0 for c in counts[1::2]), (n, s, d)


def test_uneven_counts_are_one_source_of_checkerboards_not_the_only_one():
    """[sec-uneven-overlap]
    > uneven counts are one source of its checkerboard artifacts (the other, that each
    > output phase sees different taps of the kernel, is in {ref}`4.7 Checkerboard artifacts
    > <sec-checkerboard>`)

    The old wording ("which is where its checkerboard artifacts come from") fails:
    with kernel_size a multiple of the stride the all-ones counts are flat inside,
    yet a random kernel on a constant input still gives a period-`stride` pattern
    there, because output phase o mod s sums the taps i with i = o mod s. With an
    all-ones kernel and k not a multiple of s, the counts alone make one.
    """
    gen = torch.Generator().manual_seed(14)
    for k, s in [(4, 2), (6, 2), (6, 3), (3, 1)]:
        weight = torch.randn(1, 1, k, k, generator=gen, dtype=torch.float64)
        ones = torch.ones(1, 1, 8, 8, dtype=torch.float64)
        counts = F.conv_transpose2d(ones, torch.ones_like(weight), stride=s)[0, 0]
        out = F.conv_transpose2d(ones, weight, stride=s)[0, 0]
        inner = slice(k - 1, s * 7 + 1)
        assert len(counts[inner, inner].unique()) == 1  # flat counts inside
        phases = {(a, b): out[inner, inner][a::s, b::s] for a in range(s) for b in range(s)}
        for values in phases.values():  # each phase constant: its own sum of taps
            torch.testing.assert_close(values, torch.full_like(values, values[0, 0].item()))
        distinct = {round(v[0, 0].item(), 9) for v in phases.values()}
        assert len(distinct) == s * s, (k, s)  # one value per phase: a checkerboard
    counts = F.conv_transpose2d(torch.ones(1, 1, 8, 8), torch.ones(1, 1, 3, 3), stride=2)[0, 0]
    assert len(counts[2:15, 2:15].unique()) > 1


def test_the_documentation_divisor_snippet_forgets_the_device():
    """[sec-fold-docstring]
    > `torch.ones(input.shape, dtype=input.dtype)` keeps the dtype but not the device. For
    > an input that is not on the CPU (on a GPU, say) the divisor is built on the CPU
    > anyway, and `divisor * input` fails.

    [sec-fold-docstring]
    > `torch.ones_like(input)` keeps both

    On the meta device (and on CUDA when this machine has one), for every dtype
    unfold takes.
    """
    devices = ["meta"] + (["cuda"] if torch.cuda.is_available() else [])
    for device, dtype in itertools.product(devices, (torch.float32, torch.float64)):
        x = torch.randn(1, 2, 5, 6, device=device, dtype=dtype)
        divisor = F.fold(F.unfold(torch.ones(x.shape, dtype=x.dtype), 3), (5, 6), 3)
        assert divisor.device.type == "cpu" and divisor.dtype == dtype
        with pytest.raises(RuntimeError):
            divisor * x
        good = F.fold(F.unfold(torch.ones_like(x), 3), (5, 6), 3)
        assert good.device == x.device and good.dtype == dtype


def test_summary_fold_adds_every_column_back_onto_its_block():
    """[sec-fold-summary]
    > `F.fold(cols, output_size, kernel_size, dilation, padding, stride)` adds every column
    > back onto its block: overlaps add up

    Every parameter on images up to 8: F.fold against a loop that adds entry r of
    column l onto the padded pixel that entry reads, then crops the padding.
    """
    gen = torch.Generator().manual_seed(15)
    for H, W, kw in _grid(max_size=8):
        (kh, kw_), (dh, dw), (ph, pw), (sh, sw) = (
            kw[n] for n in ("kernel_size", "dilation", "padding", "stride")
        )
        Lh = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        Lw = (W + 2 * pw - dw * (kw_ - 1) - 1) // sw + 1
        cols = torch.randn(1, 2 * kh * kw_, Lh * Lw, generator=gen, dtype=torch.float64)
        out = torch.zeros(1, 2, H + 2 * ph, W + 2 * pw, dtype=torch.float64)
        blocks = cols.view(1, 2, kh, kw_, Lh, Lw)
        for i, j, a, b in itertools.product(range(kh), range(kw_), range(Lh), range(Lw)):
            out[:, :, a * sh + i * dh, b * sw + j * dw] += blocks[:, :, i, j, a, b]
        want = out[:, :, ph : ph + H, pw : pw + W]
        torch.testing.assert_close(F.fold(cols, (H, W), **kw), want, msg=str((H, W, kw)))


def test_summary_fold_recomputes_L_from_output_size():
    """[sec-fold-summary]
    > `output_size` is the size of the image the blocks came from; `fold` recomputes `L`
    > from it and refuses a mismatch

    Every parameter: fold accepts the columns of an H x W image with output_size
    (H, W), and refuses (RuntimeError) every output_size within 3 of it whose
    block count differs, and accepts those whose count is the same.
    """
    for H, W, kw in _grid(max_size=10):
        cols = F.unfold(torch.zeros(1, 1, H, W), **kw)
        for h, w in itertools.product(range(max(1, H - 3), H + 4), range(max(1, W - 3), W + 4)):
            try:
                L = convlab.num_blocks((h, w), **kw)
            except ValueError:
                L = None  # the block does not fit: torch refuses too
            if L == cols.shape[-1]:
                assert F.fold(cols, (h, w), **kw).shape == (1, 1, h, w)
            else:
                with pytest.raises(RuntimeError):
                    F.fold(cols, (h, w), **kw)


def test_summary_dividing_undoes_unfold_exactly_when_no_zeros():
    """[sec-fold-summary]
    > `fold(unfold(x)) == divisor * x` with `divisor = fold(unfold(ones))`. Dividing undoes
    > `unfold` exactly when the divisor has no zeros; zeros come from gaps between blocks (a
    > stride larger than the dilated kernel), from holes between dilated taps that no other
    > block fills, and from rows dropped by the floor; inside a long axis some index is
    > unread exactly when $\\gcd(s, d) > 1$ or $k < s$

    Every parameter: the identity (allclose), the division recovers x exactly when
    the divisor has no zeros (else the unread pixels come back 0 / 0 or lost); the
    three causes are tried one axis at a time by the section's own test of them.
    """
    gen = torch.Generator().manual_seed(16)
    for H, W, kw in _grid():
        x = 1 + torch.rand(1, 2, H, W, generator=gen, dtype=torch.float64)
        D = F.fold(F.unfold(torch.ones_like(x), **kw), (H, W), **kw)
        back = F.fold(F.unfold(x, **kw), (H, W), **kw)
        torch.testing.assert_close(back, D * x)
        recovered = torch.allclose(back / D.clamp(min=1), x)
        assert recovered == bool((D > 0).all()), (H, W, kw)
    # one example of each cause, along one axis (the section's own test tries them all)
    gap = convlab.fold_divisor((7,), 2, stride=3)  # stride 3 > span 2
    hole = convlab.fold_divisor((7,), 2, dilation=2, stride=2)  # span 3 > stride 2
    floor = convlab.fold_divisor((6,), 3, stride=2)  # 2 blocks reach index 4 only
    assert gap.tolist() == [1, 1, 0, 1, 1, 0, 0]
    assert hole.tolist() == [1, 0, 2, 0, 2, 0, 1]
    assert floor.tolist() == [1, 1, 2, 1, 1, 0]
    for n, s, d in itertools.product(range(3, 17), (2, 4), (2, 4)):
        if d + 1 <= n:  # both even: no odd index is ever read
            odd = convlab.fold_divisor((n,), 2, dilation=d, stride=s)[1::2]
            assert not bool(odd.any()), (n, s, d)
    # inside a long axis: some index unread exactly when gcd(s, d) > 1 or k < s
    from math import gcd

    for k, s, d in itertools.product(range(1, 6), range(1, 5), range(1, 5)):
        counts, L = _read_counts_1d(64, k, s, 0, d)
        inner = range(d * (k - 1), s * (L - 1) + 1)
        assert any(counts[q] == 0 for q in inner) == (gcd(s, d) > 1 or k < s), (k, s, d)


def _axes():
    """Every axis of the wide grid: size up to 16, kernel up to 5, stride and dilation
    up to 4, padding up to 4, where the dilated kernel fits."""
    for n, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if d * (k - 1) + 1 <= n + 2 * p:
            yield n, k, s, p, d


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
    > `unfold` can be undone, by `fold` and a division by the
    > divisor, exactly when every row and every column is read.

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
    > `divisor = fold(unfold(torch.ones(input.shape, dtype=input.dtype)))` (its exact words;

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


def _read_counts_1d(n, k, s, p, d):
    """How many taps read each padded index 0 .. n + 2p - 1, and the number of blocks."""
    L = (n + 2 * p - d * (k - 1) - 1) // s + 1
    counts = [0] * (n + 2 * p)
    for t in range(max(L, 0)):
        for j in range(k):
            counts[s * t + d * j] += 1
    return counts, L


def test_far_from_the_ends_every_index_is_read_exactly_when_gcd_is_one_and_k_at_least_s():
    r"""[sec-fold-undone]
    > Far from both ends of a long enough axis, where every block start exists, the count at
    > padded index $q$ is the number of taps $j < k$ with $d\,j \equiv q \pmod s$, so these
    > indices are all read exactly when $\gcd(s, d) = 1$ and $k \ge s$ (then the taps of $s$
    > consecutive starts hit every remainder).

    [sec-fold-undone]
    > Near the ends, holes and gaps can appear even then, when few blocks fit:
    > `kernel_size=2, stride=1, dilation=3` on 4 pixels has one block, which reads pixels 0
    > and 3 only.

    Kernel 1-5, stride 1-4, dilation 1-4, padding 0-4, on an axis of 64 pixels: at every
    padded index with all its starts present (d(k-1) <= q <= s(L-1)) the count is the
    number of taps with d*j = q (mod s); all of them are read iff gcd(s, d) = 1 and k >= s.
    Then the same with gcd 1 and k >= s near the ends on short axes: holes occur.
    """
    from math import gcd

    for k, s, d, p in itertools.product(range(1, 6), range(1, 5), range(1, 5), range(5)):
        counts, L = _read_counts_1d(64, k, s, p, d)
        inner = range(d * (k - 1), s * (L - 1) + 1)
        assert len(inner) >= s  # long enough: every remainder occurs inside
        for q in inner:
            assert counts[q] == sum((d * j - q) % s == 0 for j in range(k)), (k, s, d, p, q)
        all_read = all(counts[q] > 0 for q in inner)
        assert all_read == (gcd(s, d) == 1 and k >= s), (k, s, d, p)
    # near the ends: gcd 1 and k >= s, and still unread pixels (the example, and more)
    counts, L = _read_counts_1d(4, 2, 1, 0, 3)
    assert L == 1 and [q for q in range(4) if counts[q]] == [0, 3]
    border = 0
    for n, k, s, d in itertools.product(range(1, 17), range(1, 6), range(1, 5), range(1, 5)):
        if gcd(s, d) == 1 and k >= s and d * (k - 1) < n:
            counts, L = _read_counts_1d(n, k, s, 0, d)
            border += any(c == 0 for c in counts)
    assert border > 20


def test_the_inside_count_with_any_dilation_and_the_outer_product():
    r"""[sec-uneven-overlap]
    > All of 12 x 12 is border here.

    [sec-uneven-overlap]
    > Far from the borders, the pixel at padded index $q$ is read once for each tap $j < k$
    > with $q - d\,j$ a multiple of $s$, that is, with $d\,j \equiv q \pmod s$. With
    > $g = \gcd(s, d)$ the taps land only on multiples of $g$, so an index that is not one is
    > never read. Over the multiples of $g$ the count is even, $k g / s$ everywhere, exactly
    > when $s/g$ divides $k$; otherwise it takes the two values $\lceil k g/s \rceil$ and
    > $\lfloor k g/s \rfloor$. With `dilation=1`, $g = 1$ and this is the rule above; with
    > `kernel_size=4, stride=2, dilation=2` on a larger image the even indices inside all
    > count 4 per axis.

    [sec-uneven-overlap]
    > In two dimensions the divisor is the outer product of the two axes' divisors,
    > $D[y, x] = D_H[y]\,D_W[x]$

    Kernel 1-8, stride 1-6, dilation 1-5, padding 0-4 on 80 pixels: the inside counts
    against the rule (not a multiple of g: never read, anywhere; the multiples: kg/s
    each iff s/g divides k, else exactly the two values, both present). The 12 x 12
    example has no index with all its starts. The outer product against fold's 2-D
    divisor for every size up to 16, kernel 1-5, stride 1-4, dilation 1-4, padding 0-4
    with different parameters per axis.
    """
    from math import gcd

    for k, s, d, p in itertools.product(range(1, 9), range(1, 7), range(1, 6), range(5)):
        g = gcd(s, d)
        counts, L = _read_counts_1d(80, k, s, p, d)
        assert all(c == 0 for q, c in enumerate(counts) if q % g), (k, s, d, p)
        inner = [counts[q] for q in range(d * (k - 1), s * (L - 1) + 1) if q % g == 0]
        assert len(inner) >= s // g
        if k % (s // g) == 0:
            assert set(inner) == {k * g // s}, (k, s, d, p)
        else:
            assert set(inner) == {k * g // s, -(-k * g // s)}, (k, s, d, p)
    counts, L = _read_counts_1d(12, 4, 2, 0, 2)
    assert not range(2 * 3, 2 * (L - 1) + 1)  # no index has all four starts
    counts, L = _read_counts_1d(40, 4, 2, 0, 2)
    assert {counts[q] for q in range(6, 2 * (L - 1) + 1) if q % 2 == 0} == {4}
    # the outer product, per-axis parameters different
    rng = random.Random(5)
    axes = list(_axes())
    for _ in range(400):
        (H, kh, sh, ph, dh), (W, kw, sw, pw, dw) = rng.sample(axes, 2)
        D = convlab.fold_divisor(
            (H, W), (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw)
        )
        dH = convlab.fold_divisor((H,), kh, dilation=dh, padding=ph, stride=sh)
        dW = convlab.fold_divisor((W,), kw, dilation=dw, padding=pw, stride=sw)
        assert torch.equal(D, torch.outer(dH, dW)), (H, kh, sh, ph, dh, W, kw, sw, pw, dw)


def test_fold_itself_can_be_undone_only_when_every_entry_lands_on_a_pixel_of_its_own():
    """[sec-fold-undone]
    > (Undoing `fold` itself is
    > another matter: it adds the entries that land on one pixel and drops those that land on
    > padding, so it can be undone only when every entry lands on a pixel of its own.)

    fold's matrix (fold of every basis column) has full column rank, so some function
    undoes it, exactly when no two entries land on one pixel and none lands on padding:
    the divisor is at most 1 and sums to K * L. Sizes up to 7, kernel 1-3, stride 1-3,
    padding 0-2, dilation 1-2, different per axis.
    """
    rng = random.Random(6)
    axes = [a for a in _axes() if a[0] <= 7 and a[1] <= 3 and a[3] <= 2 and a[4] <= 2]
    seen = {True: 0, False: 0}
    for _ in range(300):
        (H, kh, sh, ph, dh), (W, kw_, sw, pw, dw) = rng.sample(axes, 2)
        kw = dict(kernel_size=(kh, kw_), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
        K, L = F.unfold(torch.zeros(1, 1, H, W), **kw).shape[1:]
        basis = torch.eye(K * L, dtype=torch.float64).view(K * L, K, L)
        matrix = F.fold(basis, (H, W), **kw).view(K * L, H * W)
        injective = int(torch.linalg.matrix_rank(matrix)) == K * L
        D = convlab.fold_divisor((H, W), **kw)
        own_pixel = bool((D <= 1).all()) and int(D.sum()) == K * L
        assert injective == own_pixel, kw
        seen[injective] += 1
    assert min(seen.values()) > 10
