"""The general sentences of chapter 3 (convolution as a matrix product), each tried
against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import inspect
import itertools
import math
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import convlab
from convlab import aten
from convlab.aten import record_aten_ops

D = torch.float64


@st.composite
def conv2d_params(draw, groups=False):
    """kernel_size, stride, padding, dilation per dim (k <= 5, s, d <= 4, p <= 4),
    an input of up to 16 pixels past the smallest that fits, channels and groups."""
    k = tuple(draw(st.integers(1, 5)) for _ in range(2))
    s = tuple(draw(st.integers(1, 4)) for _ in range(2))
    p = tuple(draw(st.integers(0, 4)) for _ in range(2))
    d = tuple(draw(st.integers(1, 4)) for _ in range(2))
    size = tuple(
        max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]) + draw(st.integers(0, 15)) for i in range(2)
    )
    g = draw(st.integers(1, 3)) if groups else 1
    c_in = g * draw(st.integers(1, 3))
    c_out = g * draw(st.integers(1, 3))
    n = draw(st.integers(1, 2))
    return dict(
        size=size,
        kernel_size=k,
        stride=s,
        padding=p,
        dilation=d,
        groups=g,
        c_in=c_in,
        c_out=c_out,
        n=n,
    )


def _tensors(c, bias=True):
    x = torch.randn(c["n"], c["c_in"], *c["size"], dtype=D)
    weight = torch.randn(c["c_out"], c["c_in"] // c["groups"], *c["kernel_size"], dtype=D)
    b = torch.randn(c["c_out"], dtype=D) if bias else None
    return x, weight, b


def _conv(x, weight, b, c):
    return F.conv2d(x, weight, b, c["stride"], c["padding"], c["dilation"], c["groups"])


def _out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


# ---------------------------------------------------------------- the product itself


@given(conv2d_params())
def test_a_convolution_is_one_matrix_product_with_the_unfolded_image(c):
    """[ch-matmul]
    > A convolution multiplies every block by the same kernel and sums: that is one row
    > of weights times one column, for every column at once, a single matrix
    > multiplication.

    [sec-every-parameter]
    > `stride`, `padding` and `dilation` only change which blocks `unfold` cuts; the
    > multiplication {eq}`eq-conv-matmul` stays the same. The output grid has the size
    > of the block-count formula of {ref}`1.3 How many blocks? <sec-num-blocks>`,
    > $\\lfloor (\\mathrm{in} + 2p - \\mathrm{dil}(k-1) - 1)/s \\rfloor + 1$ per dimension.

    [sec-unfold-multiply-view]
    > A weight row keeps its `C_in * kH * kW = 4` weights: `stride` only changes which
    > blocks are cut, never the product.

    [sec-matmul-summary]
    > `F.conv2d(x, weight, bias)` is
    > `(weight.view(C_out, -1) @ F.unfold(x, k, d, p, s)).view(N, C_out, H_out, W_out)`
    > `+ bias.view(1, -1, 1, 1)`, {eq}`eq-conv-matmul`:

    One product `weight.view(C_out, -1) @ unfold(x)` (the same weight rows for every
    parameter set) against F.conv2d, over kernel sizes 1..5, stride and dilation
    1..4, padding 0..4 in each dimension independently, inputs up to 16 pixels past
    the smallest that fits; and the output size against the formula.
    """
    x, weight, b = _tensors(c)
    k, s, p, d = c["kernel_size"], c["stride"], c["padding"], c["dilation"]
    size = [_out_size(*a) for a in zip(c["size"], k, s, p, d)]
    cols = F.unfold(x, k, d, p, s)
    out = (weight.view(c["c_out"], -1) @ cols).view(c["n"], c["c_out"], *size)
    ref = _conv(x, weight, b, c)
    assert tuple(ref.shape[2:]) == tuple(size)
    torch.testing.assert_close(out + b.view(1, -1, 1, 1), ref)


@given(conv2d_params())
def test_the_sum_over_r_of_the_equation_term_by_term(c):
    """[sec-unfold-multiply-view]
    > `weight.view(4, -1)` gives one row of 27 weights per output channel, **in the same
    > order**: channel-major `(c, i, j)`, as unfold's rows.

    Row r of unfold's output is (c, i, j) = (r // (kH kW), r // kW % kH, r % kW): its
    value in column l is the padded input at block l's start plus (i dil, j dil); and
    entry r of weight.view(C_out, -1) is weight[o, c, i, j] for the same triple. Both
    read off independently, then multiplied with the sum of the equation written out.
    """
    x, weight, b = _tensors(c)
    k, s, p, d = c["kernel_size"], c["stride"], c["padding"], c["dilation"]
    cols = F.unfold(x, k, d, p, s)
    xp = F.pad(x, (p[1], p[1], p[0], p[0]))
    size = [_out_size(*a) for a in zip(c["size"], k, s, p, d)]
    wmat = weight.view(c["c_out"], -1)
    for r in range(cols.shape[1]):
        ch, i, j = r // (k[0] * k[1]), r // k[1] % k[0], r % k[1]
        rows = torch.arange(size[0]) * s[0] + i * d[0]
        cols_ = torch.arange(size[1]) * s[1] + j * d[1]
        expect = xp[:, ch][:, rows][:, :, cols_].reshape(c["n"], -1)
        assert torch.equal(cols[:, r], expect)
        assert torch.equal(wmat[:, r], weight[:, ch, i, j])
    y = torch.einsum("or,nrl->nol", wmat, cols) + b.view(1, -1, 1)
    torch.testing.assert_close(y.view(c["n"], c["c_out"], *size), _conv(x, weight, b, c))


def test_unfold_takes_dilation_before_padding_and_stride_and_conv2d_the_reverse():
    """[sec-every-parameter]
    > Note the argument order of `F.unfold`: `kernel_size, dilation, padding, stride`,
    > the reverse of `F.conv2d`'s `stride, padding, dilation`
    > ({ref}`PyTorch's argument orders <sec-argument-orders>`). convlab's shape helpers take these
    > by keyword only,
    > so their order cannot bite.

    The positional order read from F.unfold's signature, F.conv2d's from calls with
    distinct values (it is a builtin without a signature), and every convlab shape
    helper's parameters after kernel_size are keyword-only.
    """
    names = list(inspect.signature(F.unfold).parameters)
    assert names[1:5] == ["kernel_size", "dilation", "padding", "stride"]
    x, w = torch.randn(1, 1, 12, 12), torch.randn(1, 1, 2, 2)
    positional = F.conv2d(x, w, None, 3, 2, 4)
    assert torch.equal(positional, F.conv2d(x, w, stride=3, padding=2, dilation=4))
    assert not torch.equal(positional, F.conv2d(x, w, stride=4, padding=2, dilation=3))
    for helper in (convlab.conv_output_shape, convlab.output_padding_for, convlab.num_blocks):
        params = inspect.signature(helper).parameters
        for name in ("stride", "padding", "dilation"):
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (helper, name)


# ------------------------------------------------------------------ padding strings


def test_valid_is_no_padding_and_same_keeps_the_size_with_stride_1_only():
    """[sec-padding-same]
    > `'valid'` means no padding. `'same'` (stride 1 only) pads so that the output has
    > the input's size: $\\mathrm{dil}(k-1)$ zeros in total per dimension.

    Every kernel 1..5, dilation 1..4, input 1..16 per dimension: 'valid' equals
    padding=0, 'same' keeps the size and equals an explicit pad of dil(k-1) zeros in
    total; with a stride above 1 torch refuses 'same'.
    """
    for H, k, d in itertools.product(range(1, 17), range(1, 6), range(1, 5)):
        x = torch.randn(1, 1, H, 5, dtype=D)
        w = torch.randn(1, 1, k, 2, dtype=D)
        if d * (k - 1) + 1 <= H and d + 1 <= 5:
            v = F.conv2d(x, w, padding="valid", dilation=d)
            assert torch.equal(v, F.conv2d(x, w, padding=0, dilation=d))
        with warnings.catch_warnings(action="ignore"):
            same = F.conv2d(x, w, padding="same", dilation=d)
        assert same.shape[2:] == x.shape[2:]
        total = d * (k - 1)
        manual = F.conv2d(
            F.pad(x, (d // 2, d - d // 2, total // 2, total - total // 2)), w, dilation=d
        )
        torch.testing.assert_close(same, manual)
        for s in range(2, 5):
            with pytest.raises(RuntimeError, match="strided"):
                F.conv2d(x, w, padding="same", dilation=d, stride=s)


def test_same_padding_puts_the_extra_zero_at_the_end_exactly_when_the_total_is_odd():
    """[sec-padding-same]
    > When that total is odd (an even kernel with an odd dilation), PyTorch puts the
    > extra zero at the **bottom/right**, which a symmetric `padding=` cannot say.

    [sec-matmul-summary]
    > `'same'` pads one more zero at the bottom/right when $\\mathrm{dil}(k-1)$ is odd

    Kernel 1..5, dilation 1..4: 'same' equals padding dil(k-1)//2 before and the rest
    after; the total is odd exactly for even k with odd dilation; then no symmetric
    padding (0..8) gives an output of the input's size.
    """
    x = torch.randn(1, 2, 9, 10, dtype=D)
    for k, d in itertools.product(range(1, 6), range(1, 5)):
        w = torch.randn(3, 2, k, k, dtype=D)
        total = d * (k - 1)
        assert (total % 2 == 1) == (k % 2 == 0 and d % 2 == 1)
        with warnings.catch_warnings(action="ignore"):
            same = F.conv2d(x, w, padding="same", dilation=d)
        lo, hi = total // 2, total - total // 2
        manual = F.conv2d(F.pad(x, (lo, hi, lo, hi)), w, dilation=d)
        torch.testing.assert_close(same, manual)
        assert (hi != lo) == (total % 2 == 1)
        sizes = {
            F.conv2d(x, w, padding=p, dilation=d).shape[2:]
            for p in range(9)
            if 9 + 2 * p >= total + 1
        }
        assert (x.shape[2:] in sizes) == (total % 2 == 0)
        if total % 2 == 0:  # a symmetric padding= says the same
            torch.testing.assert_close(same, F.conv2d(x, w, padding=lo, dilation=d))


# ------------------------------------------------------------------------- groups


@given(conv2d_params(groups=True))
def test_groups_are_contiguous_row_blocks_and_one_batched_product(c):
    """[sec-groups]
    > With `groups=g`, the input channels split into `g` groups, each with its own
    > `C_out / g` output channels and weights of shape `(C_out / g, C_in / g, kH, kW)`.
    > In the unfolded matrix the rows of a group are **contiguous** (channel-major order
    > again), so the `g` products are one batched multiplication:

    [sec-groups]
    > Its row of `weight.view(C_out, -1)` has `C_in / g * K` weights, and it meets only
    > the rows of its group in the column of `unfold(x)`

    [sec-groups]
    > `C_in / groups * K` weights: 4, then 2, then 1 (with `K = 1`), and it meets exactly
    > as many rows of `unfold(x)`, the rows of its own group.

    [sec-matmul-summary]
    > groups are a batched product over contiguous row blocks

    Over groups 1..3 and every sliding parameter: group j's output channels equal the
    ungrouped convolution of input channels j*C_in/g.. with weight rows j*C_out/g..;
    the rows of unfold of those channels are the contiguous rows j*(C_in/g)*K.. of the
    full unfold; and one batched `@` of the (g, C_out/g, C_in/g*K) weight with the
    (N, g, C_in/g*K, L) view gives F.conv2d.
    """
    x, weight, _ = _tensors(c, bias=False)
    k, s, p, d, g = c["kernel_size"], c["stride"], c["padding"], c["dilation"], c["groups"]
    ci, co = c["c_in"] // g, c["c_out"] // g
    K = k[0] * k[1]
    ref = _conv(x, weight, None, c)
    cols = F.unfold(x, k, d, p, s)
    for j in range(g):
        xs, ws = x[:, j * ci : (j + 1) * ci], weight[j * co : (j + 1) * co]
        assert ws.shape == (co, ci, *k)
        torch.testing.assert_close(ref[:, j * co : (j + 1) * co], F.conv2d(xs, ws, None, s, p, d))
        assert torch.equal(cols[:, j * ci * K : (j + 1) * ci * K], F.unfold(xs, k, d, p, s))
    assert weight.view(c["c_out"], -1).shape[1] == ci * K
    out = weight.view(g, co, -1) @ cols.view(c["n"], g, ci * K, -1)
    torch.testing.assert_close(out.reshape(ref.shape), ref)


def test_groups_must_divide_both_channel_counts():
    """[sec-groups]
    > Every value but 1: `groups` must divide both `in_channels` and `out_channels`
    > (PyTorch refuses the others too), and only 1 divides both 4 and 3.

    The groups explorer's second question: torch refuses a `groups` that does not
    divide both `in_channels` and `out_channels`; the explorer refuses the same.
    """
    from convlab import scenes

    for ci, co, g in itertools.product(range(1, 7), range(1, 7), range(1, 7)):
        ok = ci % g == 0 and co % g == 0
        x = torch.zeros(1, ci, 3, 3)
        if ok:
            F.conv2d(x, torch.zeros(co, ci // g, 1, 1), groups=g)
            scenes.matmul(3, 1, out_channels=co, in_channels=ci, groups=g)
        else:
            with pytest.raises(RuntimeError):
                F.conv2d(x, torch.zeros(co, max(ci // g, 1), 1, 1), groups=g)
            with pytest.raises(ValueError, match="groups"):
                scenes.matmul(3, 1, out_channels=co, in_channels=ci, groups=g)


def _flops(fn, *args, **kwargs):
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return counter.get_total_flops()


def test_groups_divide_the_multiply_adds_and_depthwise_is_a_sum_of_products():
    """[sec-groups]
    > The extreme is **depthwise** convolution, `groups = C_in`: every input channel has its
    > own kernels, one when `C_out = C_in`, or $m$ of them when `C_out` $= m \\cdot$ `C_in` (a
    > *depth multiplier*; PyTorch's documentation calls both depthwise). With one kernel per
    > channel the multiplication is an elementwise product and a sum over the kernel's `K`
    > rows. Any `groups` divides the multiply-adds by `groups`
    > (each output channel reads `C_in / groups` input channels instead of `C_in`), so
    > depthwise needs `C_in` times fewer than the dense convolution with the same
    > channels:

    [sec-matmul-summary]
    > depthwise is an elementwise product and a sum.

    torch's flop counter on F.conv2d for every groups dividing C_in and C_out (up to
    12 channels, kernel 1..5, stride 1..3): dense / grouped == groups exactly. And the
    depthwise product-and-sum against F.conv2d over sliding parameters. PyTorch's
    Conv2d documentation names "depthwise" for groups == in_channels with out_channels
    = K * in_channels, and such a layer runs: output channel c reads input channel c // m.
    """
    assert "depthwise" in torch.nn.Conv2d.__doc__
    assert "`out_channels == K * in_channels`" in " ".join(torch.nn.Conv2d.__doc__.split())
    for C, m in itertools.product((1, 2, 3), (1, 2, 3)):
        xs = torch.randn(1, C, 6, 6, dtype=D)
        w = torch.randn(m * C, 1, 3, 3, dtype=D)
        out = F.conv2d(xs, w, groups=C)
        for c in range(m * C):
            torch.testing.assert_close(
                out[:, c], F.conv2d(xs[:, c // m : c // m + 1], w[c : c + 1])[:, 0]
            )
    x = torch.randn(1, 12, 9, 8)
    for c_in, c_out, k, s in itertools.product(
        (1, 2, 4, 6, 12), (2, 6, 12), range(1, 6), range(1, 4)
    ):
        xs = x[:, :c_in]
        dense = _flops(F.conv2d, xs, torch.randn(c_out, c_in, k, k), stride=s)
        assert dense > 0
        for g in range(1, c_in + 1):
            if c_in % g or c_out % g:
                continue
            w = torch.randn(c_out, c_in // g, k, k)
            assert dense == g * _flops(F.conv2d, xs, w, stride=s, groups=g)
    for C, k, s, p, d in itertools.product(
        (1, 3, 4), range(1, 6), range(1, 4), range(3), range(1, 3)
    ):
        x = torch.randn(2, C, 11, 10, dtype=D)
        w = torch.randn(C, 1, k, k, dtype=D)
        cols = F.unfold(x, k, d, p, s).view(2, C, k * k, -1)  # (N, C, K, L)
        out = (cols * w.view(1, C, k * k, 1)).sum(dim=2)
        ref = F.conv2d(x, w, None, s, p, d, C)
        torch.testing.assert_close(out.view(ref.shape), ref)


# ------------------------------------------------------------- fold, kernel_size=1


def test_pytorchs_unfold_docstring_ends_with_a_kernel_size_1_fold():
    """[sec-fold-k1]
    > The example in the docstring of `nn.Unfold` ends with
    > `F.fold(out, (H_out, W_out), kernel_size=1)` (written `(1, 1)` there)

    [sec-pytorch-example]
    > The docstring of `nn.Unfold` (reproduced here with the same shapes) ends by
    > printing the largest difference from `F.conv2d`, `tensor(1.9073e-06)`.

    Read from torch's own docstring: the last fold call of the example has kernel
    size (1, 1), and its last printed value is that one.
    """
    doc = nn.Unfold.__doc__
    calls = [line for line in doc.splitlines() if "fold(" in line and "unfold(" not in line]
    assert calls and "(1, 1))" in calls[-1]
    example = doc.split(".. _link")[0]  # the example, before the link targets
    assert example.rstrip().endswith("tensor(1.9073e-06)")


def test_fold_with_kernel_size_1_equals_a_view_but_copies():
    """[sec-fold-k1]
    > The "image" of that `fold` is the output grid; each column is a 1 x 1 block,
    > nothing overlaps and nothing moves. It gives
    > `out_cols.view(N, C_out, H_out, W_out)` value for value, but `fold` always copies
    > into new memory; the `view` is the same reshape without the copy.

    [sec-autopsy-stride]
    > The last line is a reshape ({ref}`sec-fold-k1`): its `kernel_size=1` and `stride=1`
    > are not the convolution's, and its `dilation` changes nothing.

    [sec-matmul-summary]
    > `fold(..., kernel_size=1)` at the end of such code gives the values of a `view`,
    > but copies them: `.view(N, C_out, H_out, W_out)` does the same without the copy.

    Every grid up to 16 x 16: equal values, fold's result in its own memory, the view in
    its base's (a change to the base shows in the view, not in the fold).
    """
    for N, C, H, W in itertools.product((1, 2), (1, 4), range(1, 17), (1, 5, 16)):
        out_cols = torch.randn(N, C, H * W)
        folded = F.fold(out_cols, (H, W), kernel_size=1)
        view = out_cols.view(N, C, H, W)
        assert torch.equal(folded, view)
        assert view._is_view() and not folded._is_view()
        assert folded.untyped_storage().data_ptr() != out_cols.untyped_storage().data_ptr()
        out_cols.add_(1)  # the view follows its base; the fold does not
        assert torch.equal(view, out_cols.view(N, C, H, W))
        assert not torch.equal(folded, view)


def test_a_kernel_size_1_fold_ignores_dilation_and_refuses_a_stride():
    """[sec-fold-k1]
    > With `kernel_size=1`, `dilation` has nothing to spread
    > ($\\mathrm{dil}\\,(1-1) = 0$) and changes nothing; a `stride` above 1 would skip
    > grid cells, so `fold` refuses it in every dimension where the grid has more than
    > one cell:

    Every grid up to 16 x 16, dilation and stride 1..4 per dimension: fold with any
    dilation equals the view; with a stride above 1 in a dimension of more than one
    cell it raises, and otherwise (a grid of one cell there) it accepts it and equals
    the view. The old wording ("a stride would skip grid cells, so fold refuses it")
    failed on grids of one row or column, which fold accepts with any stride.
    """
    for H, W in itertools.product(range(1, 17), range(1, 17)):
        cols = torch.randn(1, 2, H * W)
        view = cols.view(1, 2, H, W)
        for d in itertools.product(range(1, 5), repeat=2):
            assert torch.equal(F.fold(cols, (H, W), 1, dilation=d), view)
        for s in itertools.product(range(1, 5), repeat=2):
            refused = any(si > 1 and n > 1 for si, n in zip(s, (H, W)))
            if refused:
                with pytest.raises(RuntimeError):
                    F.fold(cols, (H, W), 1, stride=s)
            else:
                assert torch.equal(F.fold(cols, (H, W), 1, stride=s), view)


# ----------------------------------------------------------- the seeds' bugs


def _seed_output_size(n, k, s, p, d):
    """Seed 001's size formula, as written (math.floor of a float division)."""
    return math.floor((n + 2 * p - d * (k - 1) - 1) / s + 1)


def test_forgetting_the_stride_is_invisible_only_on_the_seeds_own_test():
    """[sec-matmul-summary]
    > Forgetting `stride` in `unfold` is invisible on {ref}`seed 001 <seed-001>`'s test,
    > a 1 x 1 input with `kernel_size=3` and `padding=1` (one block whatever the stride);

    Seed 001's forward (unfold without stride and dilation, sizes with them, fold with
    kernel_size=1) on a 1 x 1 input with k=3, padding=1 agrees with F.conv2d for every
    stride 1..4; on inputs up to 16 with any stride above 1 (or on 1 x 1 inputs with
    other paddings) it fails. The old wording, "invisible on 1 x 1 test inputs", is
    refuted by a 1 x 1 input with padding 2 and stride 2 (asserted below).
    """

    def seed_forward(x, w, k, s, p, d):
        size = [_seed_output_size(n, k, s, p, d) for n in x.shape[2:]]
        out = w.view(w.shape[0], -1) @ F.unfold(x, k, padding=p)
        return F.fold(out, size, kernel_size=1, dilation=d)

    def agrees(x, w, k, s, p, d=1):
        try:
            return torch.allclose(seed_forward(x, w, k, s, p, d), F.conv2d(x, w, None, s, p, d))
        except RuntimeError:
            return False

    w = torch.randn(4, 3, 3, 3, dtype=D)
    tiny = torch.randn(2, 3, 1, 1, dtype=D)
    assert all(agrees(tiny, w, 3, s, 1) for s in range(1, 5))
    for H, s, p in itertools.product(range(4, 17), range(2, 5), range(0, 5)):
        assert not agrees(torch.randn(1, 3, H, H, dtype=D), w, 3, s, p), (H, s, p)
    assert not agrees(tiny, w, 3, 2, 2)  # the old, general wording fails here


def test_an_output_size_without_dilation_is_never_too_small():
    """[sec-autopsy-dilation]
    > It is right for `dilation=1`. For a dilated kernel larger than 1 it counts the
    > blocks of a span $k$ instead of $\\mathrm{dil}(k-1)+1$, so it is never too small,
    > and it is too large as soon as the longer span crosses a multiple of the stride
    > (always, when `stride=1`):

    [sec-matmul-summary]
    > an output size without `dilation` is too large for dilated layers with stride 1
    > and a kernel larger than 1.

    Seed 002's formula int((h + 2p - (k - 1) - 1) / s + 1) against torch's output size,
    over sizes 1..16, kernel 1..5, stride and dilation 1..4, padding 0..4: equal for
    dilation 1 (and kernel 1), never smaller, larger exactly when
    floor((h+2p-k)/s) > floor((h+2p-dil(k-1)-1)/s), always with stride 1. The old
    wording, "wrong as soon as the layer is dilated", fails: some dilated layers get
    the right size (asserted below).
    """
    right_though_dilated = 0
    for h, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if h + 2 * p < d * (k - 1) + 1:
            continue
        forum = int((h + 2 * p - (k - 1) - 1) / s + 1)
        true = F.conv1d(torch.zeros(1, 1, h), torch.zeros(1, 1, k), None, s, p, d).shape[-1]
        assert forum >= true
        if d == 1 or k == 1:
            assert forum == true
        crosses = (h + 2 * p - k) // s > (h + 2 * p - d * (k - 1) - 1) // s
        assert (forum > true) == crosses
        if s == 1 and k > 1 and d > 1:
            assert forum > true
        if d > 1 and forum == true:
            right_though_dilated += 1
    assert right_though_dilated > 0


# ------------------------------------------------------------------ the other matrix


@st.composite
def matrix_params(draw):
    k = tuple(draw(st.integers(1, 5)) for _ in range(2))
    s = tuple(draw(st.integers(1, 4)) for _ in range(2))
    p = tuple(draw(st.integers(0, 4)) for _ in range(2))
    d = tuple(draw(st.integers(1, 4)) for _ in range(2))
    size = tuple(
        max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]) + draw(st.integers(0, 10)) for i in range(2)
    )
    return size, k, s, p, d


@given(matrix_params())
def test_each_row_of_the_conv_matrix_holds_the_taps_on_its_block(params):
    """[sec-other-matrix]
    > A convolution is also a linear map of the flattened image, so it has a matrix of
    > its own, of shape `(H_out * W_out, H * W)`: row `o` holds, at the columns of the
    > pixels of block `o`, the weights of the taps that land on them (taps on padding
    > have no column); everywhere else, zeros.

    [sec-matmul-summary]
    > The convolution's own matrix, `(H_out W_out) x (H W)`, has at most `kH * kW`
    > nonzeros per row,

    With a kernel of distinct nonzero weights, over every sliding parameter: row o's
    nonzero columns are exactly the in-image pixels of block o (read from unfold of an
    image of pixel numbers, padding marked -1), each holding its tap's weight.
    """
    size, k, s, p, d = params
    w = torch.arange(1, k[0] * k[1] + 1, dtype=D).view(k)
    Cm = convlab.conv_matrix(size, w, stride=s, padding=p, dilation=d)
    ids = torch.arange(size[0] * size[1], dtype=D).view(1, 1, *size) + 1
    blocks = (F.unfold(ids, k, d, p, s)[0] - 1).long()  # (K, L): pixel or -1 (padding)
    H_out, W_out = (_out_size(*a) for a in zip(size, k, s, p, d))
    assert Cm.shape == (H_out * W_out, size[0] * size[1])
    for o in range(Cm.shape[0]):
        expect = torch.zeros(size[0] * size[1], dtype=D)
        on_image = blocks[:, o] >= 0
        expect[blocks[on_image, o]] = w.flatten()[on_image]
        assert torch.equal(Cm[o], expect)
        assert int((Cm[o] != 0).sum()) <= k[0] * k[1]


def test_each_row_of_the_conv_matrix_starts_where_its_block_starts():
    """[sec-other-matrix]
    > Without padding, row `o` is the kernel laid out along the flattened image,
    > starting where block `o` starts: the next row starts `stride` pixels later, or
    > `stride` image rows lower at the end of a row of blocks.

    Sizes up to 16, kernel 1..5, stride and dilation 1..4 (each per dimension from a
    product): the first nonzero of row o is block o's first pixel, which moves by
    stride[1] along a row of blocks and by stride[0] image rows at its end.
    """
    for (H, W), k, s, d in itertools.product(
        ((5, 6), (7, 16), (16, 9)),
        ((1, 1), (3, 3), (2, 5), (5, 2)),
        ((1, 1), (2, 3), (4, 1), (3, 4)),
        ((1, 1), (2, 1), (1, 4)),
    ):
        if any(di * (ki - 1) + 1 > n for di, ki, n in zip(d, k, (H, W))):
            continue
        w = torch.arange(1, k[0] * k[1] + 1, dtype=D).view(k)
        Cm = convlab.conv_matrix((H, W), w, stride=s, dilation=d)
        W_out = (W - d[1] * (k[1] - 1) - 1) // s[1] + 1
        starts = [int(Cm[o].nonzero()[0]) for o in range(Cm.shape[0])]
        for o, first in enumerate(starts):
            assert first == (o // W_out) * s[0] * W + (o % W_out) * s[1]
            assert Cm[o, first] == w[0, 0]
            if o and o % W_out:
                assert first - starts[o - 1] == s[1]
            elif o:
                assert first == starts[o - W_out] + s[0] * W


def test_the_conv_matrix_costs_one_multiply_add_per_entry():
    """[sec-other-matrix]
    > It is mostly zeros: a 32 x 32 image and a 3 x 3 kernel give a 900 x 1024 matrix
    > with 9 nonzeros per row, under 1% of its entries. Multiplying by it costs one
    > multiply-add per entry, 921,600, where the convolution needs 8,100 (9 per output
    > pixel): it is built to say what a convolution *is*, not to compute one.

    Counted with torch's flop counter (2 flops per multiply-add), and the nonzeros
    counted on the matrix.
    """
    w = torch.randn(3, 3, dtype=D)
    Cm = convlab.conv_matrix((32, 32), w)
    img = torch.randn(32 * 32, dtype=D)
    assert Cm.shape == (900, 1024)
    assert ((Cm != 0).sum(dim=1) == 9).all()
    assert (Cm != 0).double().mean() < 0.01
    assert _flops(torch.mm, Cm, img[:, None]) == 2 * 921_600
    assert _flops(F.conv2d, img.view(1, 1, 32, 32), w[None, None]) == 2 * 8_100


@given(matrix_params())
def test_the_transpose_of_the_conv_matrix_is_the_transposed_convolution(params):
    """[sec-other-matrix]
    > Its **transpose** is the transposed convolution of {ref}`4. Transposed convolution, four ways
    > <ch-transposed>`:

    [sec-matmul-summary]
    > and its transpose is the transposed convolution back to `(H, W)`, with the
    > `output_padding` {eq}`eq-output-padding-restore` that restores the trailing rows and
    > columns of the padded input that the floor dropped.

    Over every sliding parameter (the input drawn so that the block grid is not empty):
    Cm.T @ y equals conv_transpose2d(y, w, stride, padding, output_padding=op,
    dilation) with op from the equation, which comes back to (H, W) exactly.
    """
    size, k, s, p, d = params
    w = torch.randn(*k, dtype=D)
    Cm = convlab.conv_matrix(size, w, stride=s, padding=p, dilation=d)
    out = [_out_size(*a) for a in zip(size, k, s, p, d)]
    op = tuple((n + 2 * pi - di * (ki - 1) - 1) % si for n, ki, si, pi, di in zip(size, k, s, p, d))
    y = torch.randn(1, 1, *out, dtype=D)
    back = F.conv_transpose2d(y, w[None, None], None, s, p, op, 1, d)
    assert back.shape[2:] == size
    torch.testing.assert_close(Cm.T @ y.flatten(), back.flatten())


def test_output_padding_counts_dropped_padding_rows_too():
    """[sec-other-matrix]
    > To get `in` back, op counts the trailing rows or columns of the *padded* input
    > (padding rows count) that the floor dropped, per dimension,
    > {eq}`eq-output-padding-restore`:

    The count of padded rows after the last block's span, read from unfold of a padded
    index image, equals the op of the equation for sizes up to 16, kernel 1..5, stride
    and dilation 1..4, padding 0..4. With 4 x 4, k=3, padding=1, stride=2 every image
    pixel is read, yet op is 1: the dropped row is a padding row.
    """
    for H, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if d * (k - 1) + 1 > H + 2 * p:
            continue
        idx = torch.arange(H + 2 * p, dtype=D).view(1, 1, -1, 1)
        last = int(F.unfold(idx, (k, 1), (d, 1), 0, (s, 1)).max())
        assert H + 2 * p - 1 - last == (H + 2 * p - d * (k - 1) - 1) % s
        assert convlab.output_padding_for((H,), k, stride=s, padding=p, dilation=d) == (
            (H + 2 * p - d * (k - 1) - 1) % s,
        )
    divisor = convlab.fold_divisor((4, 4), 3, padding=1, stride=2)
    assert bool((divisor > 0).all())
    op = convlab.output_padding_for((4, 4), 3, stride=2, padding=1)
    assert op == (1, 1)
    y = torch.randn(1, 1, 2, 2)
    w = torch.randn(1, 1, 3, 3)
    assert F.conv_transpose2d(y, w, stride=2, padding=1).shape[-2:] == (3, 3)
    assert F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=op).shape[-2:] == (4, 4)


def test_output_padding_formula_over_a_grid():
    """[sec-other-matrix]
    > $$ \\mathrm{op} = (\\mathrm{in} + 2p - \\mathrm{dil}(k-1) - 1) \\bmod s . $$

    Sizes 1..16, kernel 1..5, stride and dilation 1..4, padding 0..4: op (always below
    the stride, so torch accepts it) brings a transposed convolution back to `in`.
    """
    for H, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if d * (k - 1) + 1 > H + 2 * p:
            continue
        op = (H + 2 * p - d * (k - 1) - 1) % s
        y = torch.zeros(1, 1, (H + 2 * p - d * (k - 1) - 1) // s + 1)
        back = F.conv_transpose1d(
            y, torch.zeros(1, 1, k), stride=s, padding=p, output_padding=op, dilation=d
        )
        assert back.shape[-1] == H, (H, k, s, p, d)


def test_conv_transpose_without_output_padding_picks_the_smallest_size():
    """[sec-other-matrix]
    > The floor maps $s$ consecutive padded sizes $\\mathrm{in} + 2p$ to each output size,
    > so with a stride $s > 1$ several input sizes give the same output, and
    > `conv_transpose2d` picks the smallest of them (or refuses, where padding pushes
    > that below one pixel) unless `output_padding` (op) says otherwise.

    Sizes 1..16 (and beyond, to count every padded size), kernel 1..5, stride and
    dilation 1..4, padding 0..4: each output size has exactly s padded sizes; with
    s > 1 some output size has two input sizes; conv_transpose1d without output_padding
    returns the smallest input size with that output, or raises when it is below 1.
    """
    refused = 0
    for k, s, p, d in itertools.product(range(1, 6), range(1, 5), range(5), range(1, 5)):
        span = d * (k - 1) + 1
        by_out = {}
        for padded in range(span, span + 16 * s):
            by_out.setdefault((padded - span) // s + 1, []).append(padded)
        assert all(len(v) == s for v in by_out.values())
        shared = False
        for H in range(1, 17 + 4 * s):
            if span > H + 2 * p:
                continue
            out = _out_size(H, k, s, p, d)
            same = [
                h
                for h in range(1, H + s + 1)
                if h + 2 * p >= span and _out_size(h, k, s, p, d) == out
            ]
            shared |= len(same) > 1
            smallest = (out - 1) * s - 2 * p + span
            y, w = torch.zeros(1, 1, out), torch.zeros(1, 1, k)
            if smallest < 1:
                refused += 1
                with pytest.raises(RuntimeError):
                    F.conv_transpose1d(y, w, stride=s, padding=p, dilation=d)
                continue
            back = F.conv_transpose1d(y, w, stride=s, padding=p, dilation=d)
            assert back.shape[-1] == min(same) == smallest, (H, k, s, p, d)
        assert shared == (s > 1)
    assert refused > 0


# ---------------------------------------------------------- 1-D, 3-D, the module


@st.composite
def nd_params(draw, n):
    k = tuple(draw(st.integers(1, 5 if n == 1 else 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 4)) for _ in range(n))
    p = tuple(draw(st.integers(0, 4)) for _ in range(n))
    d = tuple(draw(st.integers(1, 4 if n == 1 else 2)) for _ in range(n))
    size = tuple(
        max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]) + draw(st.integers(0, 15 if n == 1 else 4))
        for i in range(n)
    )
    g = draw(st.integers(1, 3))
    return size, k, s, p, d, g, g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))


@given(st.sampled_from([1, 3]).flatmap(lambda n: nd_params(n)))
def test_conv1d_and_conv3d_are_the_same_lowering_with_torchs_arguments(params):
    """[sec-one-two-three]
    > The same lowering works in every dimension. `convlab.conv1d`, `conv2d` and `conv3d`
    > are written this way, on `convlab.unfold1d`, `unfold` and `unfold3d`, with the same
    > arguments as torch's:

    convlab.conv1d / conv3d called with torch's positional order (input, weight, bias,
    stride, padding, dilation, groups) against F.conv1d / F.conv3d over kernel, stride,
    padding, dilation and groups; and, recording the aten ops they dispatch, no
    convolution runs: the work is a matrix product (conv2d included).
    """
    size, k, s, p, d, g, ci, co = params
    n = len(size)
    x = torch.randn(2, ci, *size, dtype=D)
    w = torch.randn(co, ci // g, *k, dtype=D)
    b = torch.randn(co, dtype=D)
    mine, ref = (convlab.conv1d, F.conv1d) if n == 1 else (convlab.conv3d, F.conv3d)
    with record_aten_ops() as ops:
        out = mine(x, w, b, s, p, d, g)
    torch.testing.assert_close(out, ref(x, w, b, s, p, d, g))
    assert not any("conv" in op for op in ops), ops
    assert ops & {"bmm", "mm", "matmul", "addmm", "baddbmm"}, ops


def test_conv2d_dispatches_a_matrix_product_and_no_convolution():
    """[sec-one-two-three]
    > `convlab.conv1d`, `conv2d` and `conv3d` are written this way

    convlab.conv2d (on convlab.unfold, not F.unfold), forward and backward, over a
    grid of sliding parameters and groups: a matrix product, and no convolution op.
    """
    for k, s, p, d, g in itertools.product((1, 3, 5), (1, 4), (0, 4), (1, 3), (1, 2)):
        x = torch.randn(1, 2, 14, 15, requires_grad=True)
        w = torch.randn(4, 2 // g, k, k, requires_grad=True)
        with record_aten_ops() as ops:
            out = convlab.conv2d(x, w, None, s, p, d, g)
            torch.autograd.grad(out.sum(), [x, w])
        assert not any("conv" in op for op in ops), ops
        assert ops & {"bmm", "mm", "matmul"}, ops


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_convlab_conv2d_is_a_drop_in_nn_conv2d(padding_mode):
    """[sec-drop-in-conv2d]
    > `convlab.nn.Conv2d` subclasses `nn.Conv2d`: the same constructor, parameters and
    > `state_dict`, with a forward that is unfold, `@` and `view`.

    [ch-matmul]
    > use `convlab.nn.Conv2d` in place of `nn.Conv2d`: the same constructor and
    > `state_dict`, torch's weights load into it.

    [sec-autopsy-stride]
    > `nn.Conv2d` has one unless told `bias=False`

    [sec-autopsy-stride]
    > All eight fixed is `convlab.nn.Conv2d` ({ref}`sec-drop-in-conv2d`): it subclasses
    > `nn.Conv2d` (initialisation, bias, tuples, `groups` and `padding_mode` come with
    > it) and its forward is unfold with every parameter, one `@` and a `view`.

    For every padding_mode, kernel 1..5, stride 1..3, padding (ints and 'same'),
    dilation 1..2, groups and bias: the same constructor arguments build both, the
    state_dicts have the same keys and shapes, torch's weights load into convlab's,
    outputs agree, and the forward dispatches no convolution.
    """
    assert issubclass(convlab.nn.Conv2d, nn.Conv2d)
    assert nn.Conv2d(2, 3, 3).bias is not None and nn.Conv2d(2, 3, 3, bias=False).bias is None
    for k, s, p, d, g, bias in itertools.product(
        range(1, 6), range(1, 4), (0, 2, "same"), (1, 2), (1, 2), (True, False)
    ):
        if p == "same" and s > 1:
            continue
        kw = dict(stride=s, padding=p, dilation=d, groups=g, bias=bias, padding_mode=padding_mode)
        ref, layer = nn.Conv2d(4, 6, k, **kw), convlab.nn.Conv2d(4, 6, k, **kw)
        assert {n: t.shape for n, t in ref.state_dict().items()} == {
            n: t.shape for n, t in layer.state_dict().items()
        }
        layer.load_state_dict(ref.state_dict())
        x = torch.randn(2, 4, 12, 11)
        with warnings.catch_warnings(action="ignore"), record_aten_ops() as ops:
            out = layer(x)
        assert not any("conv" in op for op in ops), ops
        with warnings.catch_warnings(action="ignore"):
            torch.testing.assert_close(out, ref(x), atol=1e-5, rtol=1e-4)


def test_pytorchs_example_error_is_tiny_on_any_draw():
    """[sec-pytorch-example]
    > That number is the rounding error of float32 sums, not an error of the method:
    > in float64 the same difference is below $10^{-12}$ (the cell after next). So this
    > page prints the claim that it is tiny:

    The docstring's computation (unfold, matmul, fold with kernel_size 1) against
    F.conv2d, over 50 random draws of the docstring's shapes and of other kernels up to
    5: the largest difference stays below 1e-4 times the largest output in float32, and
    below 1e-12 in float64.
    """
    torch.manual_seed(0)
    for _, (kh, kw) in itertools.product(range(10), ((4, 5), (1, 1), (3, 3), (5, 2), (2, 4))):
        for dtype, tol in ((torch.float32, 1e-4), (D, 1e-12)):
            inp = torch.randn(1, 3, 10, 12, dtype=dtype)
            w = torch.randn(2, 3, kh, kw, dtype=dtype)
            out_unf = F.unfold(inp, (kh, kw)).transpose(1, 2).matmul(w.view(2, -1).t())
            out = F.fold(out_unf.transpose(1, 2), (11 - kh, 13 - kw), (1, 1))
            ref = F.conv2d(inp, w)
            assert (ref - out).abs().max() < tol * max(1.0, ref.abs().max())


# ------------------------------------------------------- seed 001, line by line


def test_deterministic_mode_fills_uninitialised_memory_with_nan():
    """[sec-autopsy-stride]
    > `torch.Tensor(*shape)` allocates memory and leaves it as it is: the weight holds
    > whatever bytes that memory held before, and the test hides it by copying a weight
    > in. PyTorch can make the bug visible: in deterministic mode it fills
    > uninitialised floating-point memory with NaN.

    torch.Tensor(*shape), torch.empty and a Parameter of torch.Tensor, for every
    floating dtype and shapes up to 4-D, are all NaN under
    use_deterministic_algorithms(True); the mode is restored afterwards.
    """
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        for shape in itertools.product(range(1, 4), range(1, 4), (1, 3), (1, 5)):
            assert torch.Tensor(*shape).isnan().all()
            assert nn.Parameter(torch.Tensor(*shape)).isnan().all()
            for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
                assert torch.empty(shape, dtype=dtype).isnan().all()
    finally:
        torch.use_deterministic_algorithms(before)


def test_nn_conv2d_initialises_its_weight_with_kaiming_uniform_sqrt5():
    """[sec-autopsy-stride]
    > `nn.Conv2d` draws its weight in `reset_parameters` with
    > `nn.init.kaiming_uniform_(weight, a=math.sqrt(5))`; from the same seed, the same
    > call gives the same weight:

    For channels, kernels up to 5 x 5, groups and seeds: the weight of a new nn.Conv2d
    equals kaiming_uniform_(torch.empty(shape), a=sqrt(5)) drawn from the same seed
    (and so does convlab.nn.Conv2d's, its subclass).
    """
    for seed, (ci, co, g), kh, kw in itertools.product(
        range(3), ((3, 4, 1), (4, 6, 2), (8, 8, 8)), range(1, 6), (1, 3, 5)
    ):
        torch.manual_seed(seed)
        ref = nn.Conv2d(ci, co, (kh, kw), groups=g)
        torch.manual_seed(seed)
        mine = convlab.nn.Conv2d(ci, co, (kh, kw), groups=g)
        torch.manual_seed(seed)
        w = nn.init.kaiming_uniform_(torch.empty(co, ci // g, kh, kw), a=math.sqrt(5))
        assert torch.equal(w, ref.weight) and torch.equal(w, mine.weight)


def test_a_1x1_input_with_padding_1_reads_only_the_centre_tap():
    """[sec-autopsy-stride]
    > The post's test cannot see the bug even with `stride=2`: a 1 x 1 input with
    > `padding=1` has exactly one block whatever the stride

    [sec-autopsy-stride]
    > Its one block holds the pixel at the kernel's centre and 8 padding zeros, so the
    > test reads only `weight[:, :, 1, 1]`. A module that reads the kernel upside down
    > (rotated by 180 degrees, the textbook convolution instead of PyTorch's
    > cross-correlation) passes it too, and fails on a larger input:

    k=3, padding=1 on 1 x 1 inputs, stride 1..4: one block, whose column is zero except
    at the centre row; the 180-degree-rotated kernel gives the same output; on every
    larger input (2..16 per side, any stride) it does not.
    """
    w = torch.randn(4, 3, 3, 3, dtype=D)
    tiny = torch.randn(2, 3, 1, 1, dtype=D)
    for s in range(1, 5):
        cols = F.unfold(tiny, 3, padding=1, stride=s)  # (2, 27, 1)
        assert cols.shape[-1] == 1
        centre = torch.zeros(3, 3, dtype=torch.bool)
        centre[1, 1] = True
        blocks = cols.view(2, 3, 9)  # (N, C, taps) of the one block
        assert (blocks[:, :, ~centre.flatten()] == 0).all()
        assert torch.equal(blocks[:, :, 4], tiny.view(2, 3))
        torch.testing.assert_close(
            F.conv2d(tiny, w.flip(2, 3), None, s, 1), F.conv2d(tiny, w, None, s, 1)
        )
    for H, W, s in itertools.product(range(1, 17), range(2, 17), range(1, 5)):
        x = torch.randn(1, 3, H, W, dtype=D)
        a, b = F.conv2d(x, w.flip(2, 3), None, s, 1), F.conv2d(x, w, None, s, 1)
        assert not torch.allclose(a, b)


def test_a_wrong_order_keeps_the_mean():
    """[sec-autopsy-stride]
    > A wrong answer with the right values in the wrong places, here the output channels
    > in reverse order, has the same mean:

    Any permutation of the output (channels reversed, rows rolled, values shuffled)
    keeps its mean (to rounding) over many random outputs, while allclose sees it.
    """
    torch.manual_seed(0)
    for C, H in itertools.product(range(2, 9), range(1, 17)):
        y = torch.randn(3, C, H, 5, dtype=D)
        for wrong in (y.flip(1), y.roll(1, dims=1), y.flatten()[torch.randperm(y.numel())]):
            torch.testing.assert_close(wrong.mean(), y.mean())
            assert not torch.allclose(wrong.view(y.shape), y)


def test_the_seeds_transposed_rows_are_a_copy_and_the_product_is_not():
    """[sec-autopsy-stride]
    > With more than one image in the batch (and more than one row and one column in
    > `cols`), `cols.transpose(1, 2).reshape(-1, ksize)` cannot be a view of `cols`
    > (its rows would need two strides), so it copies the unfolded matrix,
    > `C_in * kH * kW` values per output pixel. `weight.view(C_out, -1) @ cols`
    > multiplies `cols` where it lies, with no copy, as long as `weight` does not require
    > grad (a trainable weight makes `@` fold the batch into one product and copy `cols`;
    > `torch.bmm(w.expand(N, -1, -1), cols)` does not):

    Batches 1..3, rows and columns 1..16 (and 27 x 64): the seed's reshape is a view
    exactly when N, K or L is 1, and otherwise a copy (another memory); the recorded
    aten ops of `weight @ cols` hold no clone, copy or contiguous; with a weight that
    requires grad they do (N, K, L > 1), and those of bmm over an expanded weight do not.
    """
    for N, K, L in itertools.product(range(1, 4), (1, 2, 9, 16, 27), (1, 2, 5, 16, 64)):
        cols = torch.randn(N, K, L)
        rows = cols.transpose(1, 2).reshape(-1, K)
        copied = rows.data_ptr() != cols.data_ptr() or not rows._is_view()
        assert copied == (N > 1 and K > 1 and L > 1), (N, K, L)
        with record_aten_ops() as ops:
            out = torch.randn(4, K) @ cols
        assert out.shape == (N, 4, L)
        assert not ops & {"clone", "copy_", "contiguous", "_to_copy"}, ops
        w = torch.randn(4, K, requires_grad=True)
        with record_aten_ops() as ops:
            out = w @ cols
        if N > 1 and K > 1 and L > 1:  # a trainable weight: one mm over a copy
            assert ops & {"clone", "copy_", "contiguous", "_to_copy"}, (N, K, L, ops)
        with record_aten_ops() as ops:
            out = torch.bmm(w.expand(N, -1, -1), cols)
        assert not ops & {"clone", "copy_", "contiguous", "_to_copy"}, ops


def test_the_seeds_constructor_refuses_a_tuple_kernel():
    """[sec-autopsy-stride]
    > `kernel_size * kernel_size` and `torch.Tensor(c_out, c_in, k, k)` need an int, so
    > a `(3, 5)` kernel, which `nn.Conv2d` accepts, fails in the constructor

    Every non-square tuple kernel up to 5: nn.Conv2d builds it; torch.Tensor with the
    tuple in the shape raises TypeError, and so does the seed's ksize product (a tuple
    times a tuple).
    """
    for kh, kw in itertools.product(range(1, 6), repeat=2):
        k = (kh, kw)
        assert nn.Conv2d(3, 4, k).weight.shape == (4, 3, kh, kw)
        with pytest.raises(TypeError):
            torch.Tensor(4, 3, k, k)
        with pytest.raises(TypeError):
            _ = 3 * k * k


# ------------------------------------------------------- seed 002, line by line


def test_a_double_weight_with_a_float_bias_is_refused_and_double_converts_all():
    """[sec-autopsy-dilation]
    > The post converts the input and `conv.weight.data` to float64 but leaves the bias
    > in float32, and `conv(X)` refuses the mix:

    [sec-autopsy-dilation]
    > The fix: `conv.double()` converts every parameter of the module

    Over kernels, strides, paddings and groups: conv(X) raises with a float64 input and
    weight and a float32 bias; after conv.double() every parameter is float64 and the
    output matches the float64 functional call.
    """
    for k, s, p, g in itertools.product(range(1, 6), range(1, 5), range(5), (1, 2)):
        conv = nn.Conv2d(4, 6, k, stride=s, padding=p, groups=g)
        X = torch.randn(2, 4, 9, 8).double()
        conv.weight.data = conv.weight.data.double()
        with pytest.raises(RuntimeError, match="bias type"):
            conv(X)
        conv = conv.double()
        assert all(t.dtype == torch.float64 for t in conv.parameters())
        torch.testing.assert_close(conv(X), F.conv2d(X, conv.weight, conv.bias, s, p, 1, g))


def test_int_of_a_float_division_agrees_with_floor_division_for_every_valid_layer():
    """[sec-autopsy-dilation]
    > its `int(a / s + 1)` in place of `a // s + 1` is harmless (the two agree for every
    > $a \\ge 0$, and a negative $a$ is a kernel larger than the padded input, which
    > torch refuses), but `//` never goes through a float:

    a = h + 2p - dil(k-1) - 1 from 0 to 100000 with stride 1..4 (the two agree), and
    over sizes up to 16, kernels to 5, dilation and stride to 4, padding to 4: a < 0
    exactly when torch refuses the layer.
    """
    for a, s in itertools.product(range(100_001), range(1, 5)):
        assert int(a / s + 1) == a // s + 1
    for h, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        a = h + 2 * p - d * (k - 1) - 1
        x, w = torch.zeros(1, 1, h), torch.zeros(1, 1, k)
        if a < 0:
            with pytest.raises(RuntimeError):
                F.conv1d(x, w, None, s, p, d)
        else:
            assert F.conv1d(x, w, None, s, p, d).shape[-1] == a // s + 1


def test_the_seeds_weight_view_has_one_groups_columns_and_the_product_fails():
    """[sec-autopsy-dilation]
    > `W.view(W.size(0), -1)` has `C_in / groups * K` columns, one group's rows of the
    > unfolded matrix; with `groups > 1` the product with all `C_in * K` rows fails.

    Channels up to 12, every groups dividing both counts, kernels up to 5: the column
    count, and a RuntimeError from the product exactly when groups > 1.
    """
    for ci, co, k in itertools.product((2, 4, 6, 12), (2, 6, 12), range(1, 6)):
        cols = F.unfold(torch.randn(2, ci, 7, 6), k)
        for g in range(1, ci + 1):
            if ci % g or co % g:
                continue
            conv = nn.Conv2d(ci, co, k, groups=g)
            wmat = conv.weight.view(conv.weight.size(0), -1)
            assert wmat.shape[1] == ci // g * k * k
            if g == 1:
                assert (wmat @ cols).shape == (2, co, cols.shape[-1])
            else:
                with pytest.raises(RuntimeError):
                    wmat @ cols


def test_seed_002_fixed_is_right_for_every_layer_and_its_bias_broadcasts():
    """[sec-autopsy-dilation]
    > the `+ conv.bias` is added to the `(N, L, C_out)` product, where it broadcasts
    > over the last dimension, the output channels.

    [sec-autopsy-dilation]
    > What the post gets right: its `nn.Unfold` takes the convolution's own
    > `kernel_size`, `dilation`, `padding` and `stride`

    The post's expression `(unfold(X).transpose(1, 2).matmul(W.view(C_out, -1).t()) +
    conv.bias).transpose(1, 2)` with the fixed size, in float64, over every sliding
    parameter: equals conv(X); with its own size formula it is right exactly when the
    formula gives torch's size (always for dilation 1).
    """
    for k, s, p, d in itertools.product(range(1, 6), range(1, 5), range(5), range(1, 5)):
        conv = nn.Conv2d(3, 5, k, stride=s, padding=p, dilation=d).double()
        X = torch.randn(2, 3, 11, 16, dtype=D)
        if d * (k - 1) + 1 > 11 + 2 * p:
            continue
        unfold = nn.Unfold(conv.kernel_size, conv.dilation, conv.padding, conv.stride)
        Wt = conv.weight
        Y_ = unfold(X).transpose(1, 2).matmul(Wt.view(Wt.size(0), -1).t()) + conv.bias
        Y_ = Y_.transpose(1, 2)
        ref = conv(X)
        torch.testing.assert_close(nn.Fold(ref.shape[2:], kernel_size=1)(Y_), ref)
        h, w = (int((n + 2 * p - (k - 1) - 1) / s + 1) for n in (11, 16))
        if (h, w) == tuple(ref.shape[2:]):
            torch.testing.assert_close(nn.Fold((h, w), kernel_size=1)(Y_), ref)
        else:
            assert d > 1
            with pytest.raises(RuntimeError):
                nn.Fold((h, w), kernel_size=1)(Y_)


@given(matrix_params())
def test_a_fold_with_the_convolutions_own_parameters_is_the_transposed_convolution(params):
    """[sec-fold-k1]
    > There is also a `fold` whose parameters *are* the convolution's own: given
    > `weight.view(C_out, -1).T @ y` and the input's size, it computes the transposed
    > convolution,

    Over every sliding parameter, with channels: fold(W^T y, output_size=the input's
    size, kernel_size, dilation, padding, stride) equals conv_transpose2d(y, weight,
    stride, padding, output_padding=op, dilation) with op from {eq}`eq-output-padding-restore`.
    """
    size, k, s, p, d = params
    weight = torch.randn(3, 2, *k, dtype=D)  # (C_out, C_in, kH, kW) of the conv
    out = [_out_size(*a) for a in zip(size, k, s, p, d)]
    op = tuple((n + 2 * pi - di * (ki - 1) - 1) % si for n, ki, si, pi, di in zip(size, k, s, p, d))
    y = torch.randn(2, 3, *out, dtype=D)
    cols = weight.view(3, -1).T @ y.flatten(2)  # (N, C_in * kH * kW, L)
    folded = F.fold(cols, size, k, d, p, s)
    torch.testing.assert_close(folded, F.conv_transpose2d(y, weight, None, s, p, op, 1, d))


def test_training_with_either_layer_gives_the_same_losses():
    """[sec-drop-in-conv2d]
    > Train the same tiny model twice from the same seed, once with torch's layer and
    > once with convlab's, and the losses agree step by step (float64, so the
    > agreement is exact to many digits):

    The chapter's model and loss, for several seeds, kernel sizes, strides and
    dilations: the two loss curves agree to rtol 1e-9 at every one of 10 steps.
    """

    def train(conv_cls, seed, k, d):
        torch.manual_seed(seed)
        pad = d * (k - 1) // 2
        model = nn.Sequential(
            conv_cls(1, 4, k, padding=pad, dilation=d),
            nn.ReLU(),
            conv_cls(4, 1, k, padding=pad, dilation=d),
        ).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        data = torch.randn(4, 1, 10, 10, dtype=D)
        losses = []
        for _ in range(10):
            loss = (model(data) - data.roll(1, dims=3)).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return torch.tensor(losses, dtype=D)

    for seed, k, d in itertools.product(range(3), (1, 3, 5), (1, 2)):
        a, b = train(nn.Conv2d, seed, k, d), train(convlab.nn.Conv2d, seed, k, d)
        torch.testing.assert_close(a, b, rtol=1e-9, atol=0)


def test_the_matmul_explorers_answers_hold_over_its_grid():
    """[sec-unfold-multiply-view]
    > `weight.view(C_out, -1)` gains a row (the `b..` weights of channel 1); `unfold(x)`
    > stays the same, because the blocks do not depend on the output channels. Every
    > column is now read by two rows, so the step count doubles.

    [sec-unfold-multiply-view]
    > The block grid goes from 3 x 3 to 2 x 2, so `unfold(x)` goes from 9 columns to 4.

    Every scene of the matmul explorer's grid (and of its live ranges): going from 1 to
    2 output channels adds one weight row, leaves the `cols` panel and its tables
    as they were, and doubles the frames; the stride answer on its own case.
    """
    from convlab import scenes, widgets

    grid = widgets.MatmulView.grid
    keys = [k for k in grid if k != "out_channels"]
    for values in itertools.product(*(grid[k] for k in keys)):
        kw = dict(zip(keys, values))
        try:
            one = scenes.matmul(**kw, out_channels=1)
        except ValueError:
            continue
        two = scenes.matmul(**kw, out_channels=2)
        panels = {p["name"]: p for p in one["panels"]}, {p["name"]: p for p in two["panels"]}
        assert panels[1]["w"]["rows"] == panels[0]["w"]["rows"] + 1
        assert panels[1]["cols"] == panels[0]["cols"]
        assert two["frames"] == 2 * one["frames"]
        assert two["facts"]["rowLength"] == one["facts"]["rowLength"]
    s1 = scenes.matmul(4, 2, stride=1, out_channels=2)
    s2 = scenes.matmul(4, 2, stride=2, out_channels=2)
    assert (s1["facts"]["L"], s2["facts"]["L"]) == (9, 4)
    assert s1["facts"]["rowLength"] == s2["facts"]["rowLength"] == 4


def test_the_groups_explorer_numbers_pixels_as_x_flatten():
    """[sec-groups]
    > Pixels are numbered as in `x.flatten()`, so channel 1 starts after the `H * W`
    > pixels of channel 0.

    Every scene of the groups explorer's grid, at input sizes 2..4: input panel c
    holds the ids c*H*W .. (c+1)*H*W - 1, row by row, as x[0].flatten() would.
    """
    from convlab import scenes, widgets

    grid = widgets.GroupsView.grid
    for ci, co, g, k, n in itertools.product(
        grid["in_channels"], grid["out_channels"], grid["groups"], grid["kernel_size"], (2, 3, 4)
    ):
        if ci % g or co % g or k > n:
            continue
        scene = scenes.matmul(n, k, out_channels=co, in_channels=ci, groups=g)
        inputs = [p for p in scene["panels"] if p["name"].startswith("x")]
        ids = torch.arange(ci * n * n).view(ci, n, n)
        assert [p["ids"] for p in inputs] == [ids[c].flatten().tolist() for c in range(ci)]


def test_seed_001s_fold_uses_other_parameters_and_the_docstring_says_view():
    """[sec-fold-k1]
    > The forum's
    > `fold(kernel_size=1)` uses different parameters: it is this reshape, whose parameters
    > describe 1 x 1 blocks of the output grid, where the `unfold`'s describe the
    > convolution's blocks. The `fold` that takes the convolution's own parameters is the
    > transposed convolution

    [sec-fold-k1]
    > The docstring says so
    > itself, in a comment under its `fold`: "or equivalently (and avoiding a copy),
    > `out = out_unf.view(1, 2, 7, 8)`"

    The docstring's lines are there; fold with kernel_size=1 is the view for output
    grids up to 12 x 12; fold with the convolution's own kernel_size, stride, padding and
    dilation of weight.view(C_out, -1).T @ y is conv_transpose2d (output_padding chosen
    to restore the input), over kernels 1-4, strides 1-3, paddings 0-2, dilations 1-2.
    """
    doc = " ".join(torch.nn.Unfold.__doc__.split())
    assert "# or equivalently (and avoiding a copy), >>> # out = out_unf.view(1, 2, 7, 8)" in doc
    for h, w in itertools.product(range(1, 13), (1, 5, 12)):
        cols = torch.randn(2, 3, h * w, dtype=D)
        assert torch.equal(F.fold(cols, (h, w), 1), cols.view(2, 3, h, w))
    for n, k, s, p, d in itertools.product((6, 7), range(1, 5), range(1, 4), range(3), (1, 2)):
        if d * (k - 1) + 1 > n + 2 * p:
            continue
        weight = torch.randn(4, 2, k, k, dtype=D)
        m = (n + 2 * p - d * (k - 1) - 1) // s + 1
        y = torch.randn(1, 4, m, m, dtype=D)
        op = (n + 2 * p - d * (k - 1) - 1) % s
        want = F.conv_transpose2d(y, weight, None, s, p, op, 1, d)
        cols = weight.view(4, -1).T @ y.flatten(2)  # (1, C_in * K, L)
        got = F.fold(cols, (n, n), k, dilation=d, padding=p, stride=s)
        torch.testing.assert_close(got, want)


def test_the_convolution_matrix_is_doubly_block_toeplitz_and_a_stride_keeps_rows():
    r"""[sec-matmul-summary]
    > The convolution's matrix is doubly block-Toeplitz at stride 1, and a larger stride
    > keeps a subset of its rows

    [sec-other-matrix]
    > With `stride=1`, cut the matrix into blocks of $W_\mathrm{out}$
    > rows (one row of outputs) by $W$ columns (one row of the image). The block of output row
    > $i$ and image row $r$ holds kernel row $r - i$ (shifted by the padding and spread by the
    > dilation), so it depends only on $r - i$: the blocks are constant along diagonals, a
    > **block-Toeplitz** matrix. Inside a block, the entry of output column $o$ and image
    > column $w$ depends only on $w - o$: each block is Toeplitz too. The matrix is **doubly
    > block-Toeplitz**. A larger stride keeps a subset of its rows, those of the outputs at
    > multiples of the stride

    Sizes 3-8 x 3-8, kernels 1-4 (non-square), padding 0-2, dilation 1-2: every block
    equals the one diagonally below it, and inside each block every entry equals the
    one diagonally below it; strides 2-3 (per dimension) give exactly the stride-1
    matrix's rows of the outputs at multiples of the stride.
    """
    gen = torch.Generator().manual_seed(7)
    for H, W, kh, kw, p, d in itertools.product(
        range(3, 9, 2), range(3, 9, 2), range(1, 5), (1, 3), range(3), (1, 2)
    ):
        if d * (kh - 1) + 1 > H + 2 * p or d * (kw - 1) + 1 > W + 2 * p:
            continue
        w = torch.randn(kh, kw, dtype=D, generator=gen)
        T = convlab.conv_matrix((H, W), w, padding=p, dilation=d)
        Ho, Wo = (H + 2 * p - d * (kh - 1) - 1) + 1, (W + 2 * p - d * (kw - 1) - 1) + 1
        B = T.view(Ho, Wo, H, W).permute(0, 2, 1, 3)
        for i, r in itertools.product(range(Ho - 1), range(H - 1)):
            assert torch.equal(B[i, r], B[i + 1, r + 1])
        for i, r in itertools.product(range(Ho), range(H)):
            assert torch.equal(B[i, r][:-1, :-1], B[i, r][1:, 1:])
        for sh, sw in itertools.product((1, 2, 3), (1, 2)):
            S = convlab.conv_matrix((H, W), w, stride=(sh, sw), padding=p, dilation=d)
            kept = T.view(Ho, Wo, H * W)[::sh, ::sw].reshape(-1, H * W)
            assert torch.equal(S, kept)


def test_cols_is_prod_k_over_prod_s_times_the_input_and_what_pytorch_runs():
    r"""[sec-lowering-cost]
    > `cols` holds $C \cdot \prod(\text{kernel\_size}) \cdot L$ numbers, one per tap of every
    > block. With a 3 x 3 kernel, stride 1 and `padding=1`, $L = H W$ and `cols` is exactly 9
    > times the image

    [sec-lowering-cost]
    > In float32 the work goes to oneDNN (`aten::mkldnn_convolution`), whose largest buffer
    > here is the output: it never builds `cols`. In float64 it runs
    > `aten::_slow_conv2d_forward`, PyTorch's own lowering (`ConvolutionMM2d.cpp` in its
    > source): it unfolds the input into a buffer of exactly the bytes of `cols` and
    > multiplies, the method of this chapter. (A 1 x 1 kernel with stride 1 and no padding
    > skips the copy, and a float64 layer with `dilation` above 1 runs another kernel,
    > `aten::slow_conv_dilated2d`.)

    [sec-matmul-summary]
    > `cols` holds one number per tap of every block, about
    > `prod(kernel_size) / prod(stride)` times the input. PyTorch's float64 `conv2d` builds
    > it (`aten::_slow_conv2d_forward`); float32 usually goes to oneDNN, which does not
    > (small float32 layers take the lowering too

    [sec-lowering-cost]
    > A float32 layer does not always go to oneDNN: for kernels larger
    > than 1 x 1, PyTorch picks it when the batch has 2 or more images, the layer is grouped,
    > the kernel is larger than 3 x 3, or the input holds more than 20,480 numbers; a smaller
    > float32 layer runs `aten::_slow_conv2d_forward` too.

    The element count over sizes up to 16, kernels up to 5, strides up to 4, paddings up
    to 2 and dilations up to 3; the 9 times with padding 1. The profiler over layer
    shapes (batch 1-2, channels 1 and 3, kernels 1-5, strides 1-2, paddings 0 and 2): the
    float64 kernel is _slow_conv2d_forward and its largest allocation is the bytes of
    F.unfold's result, and with dilation 2 slow_conv_dilated2d runs instead. float32
    over batch 1-2, channels 2 and 8, sizes 6-60, kernels 2-5, groups 1-2: oneDNN
    exactly under the stated rule, the lowering otherwise; the chapter's float32 layer
    runs mkldnn_convolution with no buffer larger than its output.
    """
    for (H, W), k, s, p, d in itertools.product(
        ((5, 7), (16, 9)), range(1, 6), range(1, 5), range(3), range(1, 4)
    ):
        if d * (k - 1) + 1 > min(H, W) + 2 * p:
            continue
        x = torch.zeros(1, 3, H, W)
        L = convlab.num_blocks((H, W), k, stride=s, padding=p, dilation=d)
        assert F.unfold(x, k, d, p, s).numel() == 3 * k * k * L
        if (k, s, p) == (3, 1, 1):
            assert F.unfold(x, k, d, p, s).numel() == 9 * x.numel() or d > 1
    for N, C, k, s, p in itertools.product((1, 2), (1, 3), (1, 3, 5), (1, 2), (0, 2)):
        x = torch.randn(N, C, 13, 11, dtype=D)
        w = torch.randn(5, C, k, k, dtype=D)
        assert "aten::_slow_conv2d_forward" in aten.profiled_ops(F.conv2d, x, w, None, s, p)
        cols = F.unfold(x, k, 1, p, s)
        big = aten.largest_allocation(F.conv2d, x, w, None, s, p)
        if (k, s, p) == (1, 1, 0):  # cols would be x itself: multiplied where it lies
            assert big < cols.nbytes
        else:
            assert big == cols.nbytes
        ops = aten.profiled_ops(F.conv2d, x, w, None, s, p, 2)
        assert "aten::slow_conv_dilated2d" in ops and "aten::_slow_conv2d_forward" not in ops
    for N, C, H, k, g in itertools.product((1, 2), (2, 8), (6, 16, 60), range(2, 6), (1, 2)):
        x, w = torch.randn(N, C, H, H), torch.randn(4, C // g, k, k)
        ops = aten.profiled_ops(F.conv2d, x, w, groups=g)
        onednn = N >= 2 or g > 1 or k > 3 or x.numel() > 20480
        assert ("aten::mkldnn_convolution" in ops) == onednn, (N, C, H, k, g)
        assert ("aten::_slow_conv2d_forward" in ops) != onednn, (N, C, H, k, g)
        ops = aten.profiled_ops(F.conv2d, x.double(), w.double(), groups=g)
        assert "aten::_slow_conv2d_forward" in ops, (N, C, H, k, g)
    x, w = torch.randn(1, 64, 56, 56), torch.randn(64, 64, 3, 3)
    ops = aten.profiled_ops(F.conv2d, x, w, padding=1)
    assert "aten::mkldnn_convolution" in ops and "aten::_slow_conv2d_forward" not in ops
    assert aten.largest_allocation(F.conv2d, x, w, padding=1) == 64 * 56 * 56 * 4
