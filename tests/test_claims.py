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


def test_the_argument_orders_differ_between_F_unfold_and_F_conv2d():
    """Chapter 1: "`F.unfold` orders its parameters kernel_size, dilation,
    padding, stride and `F.conv2d` orders them stride, padding, dilation"."""
    x = torch.randn(1, 1, 9, 9)
    # positionally, the third number is padding for unfold, dilation for conv2d
    assert F.unfold(x, 3, 1, 2, 1).shape == F.unfold(x, 3, padding=2).shape
    w = torch.randn(1, 1, 3, 3)
    assert (
        F.conv2d(x, w, None, 2, 1, 3).shape == F.conv2d(x, w, stride=2, padding=1, dilation=3).shape
    )
    assert (
        F.conv2d(x, w, None, 2, 1, 3).shape != F.conv2d(x, w, stride=2, padding=3, dilation=1).shape
    )


def test_convlab_unfold_fold_keep_torchs_signatures():
    """Notation: "convlab's ops keep torch's exact signatures"."""
    import inspect

    for ours, theirs in [(convlab.unfold, F.unfold), (convlab.fold, F.fold)]:
        a, b = inspect.signature(ours), inspect.signature(theirs)
        assert [(p.name, p.default) for p in a.parameters.values()] == [
            (p.name, p.default) for p in b.parameters.values()
        ]


def test_a_length_chosen_rank_would_read_a_batch_of_images_as_a_volume():
    """Chapter 1: with three entries in padding, a batch of two 4-channel images
    (2, 4, 9, 8) would be read as one volume (C, D, H, W) with 2 channels of
    4 x 9 x 8: exactly what unfold3d does with it."""
    x = torch.randn(2, 4, 9, 8)
    volume = convlab.unfold3d(x, 3, padding=(1, 1, 1))
    assert volume.shape == (2 * 27, 4 * 9 * 8)  # C = 2 channels, L = D*H*W blocks
    with pytest.raises(ValueError, match=r"padding=.*has 3 entries"):
        convlab.unfold(x, 3, padding=(1, 1, 1))


@pytest.mark.parametrize("shape", [(5, 5), (1, 2, 3, 5, 5)])
def test_F_unfold_wants_3d_or_4d_input(shape):
    """Chapter 1: "`F.unfold` wants 3-D or 4-D input"."""
    with pytest.raises((RuntimeError, IndexError)):
        F.unfold(torch.randn(shape), 2)
    for ok in [(2, 5, 5), (1, 2, 5, 5)]:
        F.unfold(torch.randn(ok), 2)


def test_F_fold_refuses_a_tuple_of_one():
    """fold's docstring: "torch 2.13's F.fold raises there"; convlab repeats it."""
    cols = F.unfold(torch.randn(1, 2, 6, 6), 3)
    with pytest.raises(RuntimeError):
        F.fold(cols, (6,), (3,))
    assert torch.equal(convlab.fold(cols, (6,), (3,)), F.fold(cols, (6, 6), 3))


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


def test_dilation_gaps_leave_pixels_no_block_reads():
    """fold_divisor's docstring: a zero can come from "gaps between dilated taps
    that no block fills", with a stride smaller than the dilated kernel."""
    divisor = convlab.fold_divisor((7,), 2, dilation=2, stride=2)
    assert divisor.tolist() == [1, 0, 2, 0, 2, 0, 1]


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


def _notebook_text(name):
    import json
    import pathlib

    nb = json.loads((pathlib.Path(__file__).parent.parent / "notebooks" / name).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


@pytest.mark.parametrize("n", [1, 2, 5, 7, 12, 16])
def test_block_count_is_a_product_of_floor_plus_one(n):
    """Chapter 1, Summary: "$L = \\prod_i \\left( \\lfloor ... \\rfloor + 1 \\right)$": the +1
    belongs to each factor (read as (product of floors) + 1 it is wrong: 11882 for the
    forum's 224 x 224 case, not 12100)."""
    assert r"L = \prod_i \left( \lfloor" in _notebook_text("01_sliding_blocks.ipynb")
    for kh, kw, s, p, d in itertools.product((1, 2, 3), (1, 3), (1, 2, 3), (0, 1, 2), (1, 2)):
        h, w = n, n + 3
        try:
            L = F.unfold(torch.zeros(1, 1, h, w), (kh, kw), d, p, s).shape[-1]
        except RuntimeError:
            continue
        floors = [(h + 2 * p - d * (kh - 1) - 1) // s, (w + 2 * p - d * (kw - 1) - 1) // s]
        assert L == (floors[0] + 1) * (floors[1] + 1)
    forum = (224 + 0 - 2 * 2 - 1) // 2
    assert (forum + 1) ** 2 == 12100 and forum**2 + 1 == 11882


def test_kernel_a_multiple_of_stride_covers_inner_pixels_evenly_only_without_dilation():
    """Chapter 2, section 2.6: "With `dilation=1`, when `kernel_size` is a multiple of
    `stride`, every pixel that all its `kernel_size / stride` blocks per dimension reach is
    covered the same number of times, $(k/s)^2$ ... Dilation breaks the even case too"."""
    text = " ".join(_notebook_text("02_putting_blocks_back.ipynb").split())
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


@pytest.mark.parametrize("seed", range(5))
def test_each_output_phase_sums_its_own_taps(seed):
    """Chapter 4, section 4.7: "Even when `kernel_size` is a multiple of `stride`, the
    output pixels of each **phase** `o mod stride` are sums over a different subset of the
    kernel's taps ... A constant input then gives a period-2 pattern unless those subsets
    happen to have equal sums, which all-ones weights do and a random kernel does not"."""
    text = " ".join(_notebook_text("04_transposed_convolution.ipynb").split())
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
