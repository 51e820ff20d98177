"""The general sentences of Chapter 4, Transposed convolution, each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import re
import warnings
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from claims_index import notebook_text


def test_conv_transpose_refuses_output_padding_smaller_than_neither():
    """[sec-scatter-gather]
    > a combination PyTorch refuses (an `output_padding` at least as large as both
    > `stride` and `dilation`) shows the reason instead

    Every stride up to 4, dilation up to 3 and output_padding up to 5: torch refuses
    exactly when output_padding >= stride and >= dilation, and the explorer's scene
    refuses exactly those, naming output_padding.
    """
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
    from convlab import aten

    return aten.profiled_ops(F.conv_transpose2d, x, weight, **kw)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN")
def test_cpu_conv_transpose2d_is_onednn_for_float32_and_col2im_otherwise():
    """[sec-zero-cost]
    > PyTorch's CPU fallback for a transposed convolution,
    > `slow_conv_transpose2d`, scatters: a matrix product and col2im, like the `fold` method
    > (the profiler records its column buffer, of shape `(N, C_out * K, H * W)`: the `cols`
    > of {ref}`sec-col2im`).

    [sec-zero-cost]
    > In float32 the profiler sees no kernel of its own under `aten::_convolution`: the work
    > is oneDNN's, outside aten.

    [sec-transposed-summary]
    > On the CPU, PyTorch
    > usually runs float32 through oneDNN (a small single image excepted) and float64
    > through `slow_conv_transpose2d`, a matrix
    > product and col2im.

    [sec-zero-cost]
    > float32 input of
    > the sizes above goes to oneDNN's own transposed convolution instead

    [sec-zero-cost]
    > `slow_conv_transpose2d` runs for
    > float64, not for float32.

    [sec-zero-cost]
    > Under `torch.backends.mkldnn.flags(enabled=False)` float32 runs `slow_conv_transpose2d`
    > too, and so may a small float32 input of one image

    The chapter's sizes in float32: no ``slow_conv_transpose2d`` in the profile and
    oneDNN's verbose log shows a deconvolution; float64 over a grid of sizes, kernels,
    strides and channels: ``slow_conv_transpose2d`` runs, with a zeroed buffer of
    shape ``(N, C_out * K, H * W)`` (the columns that col2im adds up), and oneDNN
    runs nothing; float32 with oneDNN disabled, and one small image: the fallback.
    """
    from convlab import aten

    slow = "aten::slow_conv_transpose2d"
    kw = dict(stride=2, padding=1)
    x, weight = torch.randn(8, 64, 28, 28), torch.randn(64, 32, 4, 4)  # the chapter's
    assert slow not in _aten_ops(x, weight, **kw)
    wrappers = {"aten::conv_transpose2d", "aten::convolution", "aten::_convolution"}
    memory = {"empty", "empty_like", "as_strided_", "contiguous", "clone", "copy_", "resize_"}
    assert _aten_ops(x, weight, **kw) <= wrappers | {f"aten::{m}" for m in memory}
    assert "deconvolution" in aten.onednn_primitives(F.conv_transpose2d, x, weight, **kw)
    backend = torch._C._select_conv_backend(
        x, weight, None, [2, 2], [1, 1], [1, 1], True, [0, 0], 1, None
    )
    assert backend != torch._C._ConvBackend.SlowTranspose2d
    for N, C_in, C_out, n, k, s in itertools.product(
        (1, 3), (1, 4), (2, 5), (3, 7), (1, 2, 4), (1, 2, 3)
    ):
        x, w = torch.randn(N, C_in, n, n), torch.randn(C_in, C_out, k, k)
        assert slow in _aten_ops(x.double(), w.double(), stride=s)
        assert (N, C_out * k * k, n * n) in _column_buffers(x.double(), w.double(), stride=s)
        assert not aten.onednn_primitives(F.conv_transpose2d, x.double(), w.double(), stride=s)
    x, weight = torch.randn(8, 64, 28, 28), torch.randn(64, 32, 4, 4)
    with warnings.catch_warnings(action="ignore"), torch.backends.mkldnn.flags(enabled=False):
        assert slow in _aten_ops(x, weight, **kw)
    assert slow in _aten_ops(torch.randn(1, 2, 5, 5), torch.randn(2, 3, 3, 3), **kw)


@pytest.mark.parametrize("seed", range(5))
def test_each_output_phase_sums_its_own_taps(seed):
    """[sec-checkerboard]
    > Even when `kernel_size` is a multiple of `stride`, the output pixels of each **phase**
    > `o mod stride` are sums over a different subset of the kernel's taps.

    [sec-transposed-summary]
    > Checkerboards ({ref}`sec-checkerboard`) have two causes: kernel sizes not divisible by
    > the stride overlap unevenly, and each output phase `o mod stride` sums a different
    > subset of taps ({eq}`eq-phase-sum`, any kernel, any size).

    [sec-checkerboard]
    > one value per phase, a pattern of period `stride` unless those
    > subsets happen to have equal sums, which all-ones weights do and a random kernel does
    > not

    A constant input, kernels of every size up to 6 and strides up to 4 (multiples and
    not), padding up to 2: away from the border, each phase is constant and equal to the
    sum of its taps ``t = o + p (mod s)``; a random kernel gives more than one value; the
    all-ones kernel one value exactly when the counts are even.
    """
    text = " ".join(notebook_text("04_transposed_convolution.ipynb").split())
    assert "removes the uneven counts, not the phases" in text  # not "avoid it" any more
    g = torch.Generator().manual_seed(seed)
    n = 8
    for k, s, p in itertools.product(range(1, 7), range(1, 5), range(3)):
        w = torch.randn(1, 1, k, k, generator=g, dtype=torch.float64)
        x = torch.ones(1, 1, n, n, dtype=torch.float64)
        y = F.conv_transpose2d(x, w, stride=s, padding=p)[0, 0]
        # output o is away from the border when every tap it meets has an input pixel
        inner = [o for o in range(y.shape[0]) if k - 1 <= o + p <= (n - 1) * s]
        if len(inner) < s:
            continue
        values = set()
        for o, q in itertools.product(inner, inner):
            ti, tj = (o + p) % s, (q + p) % s
            taps = w[0, 0, ti::s, tj::s].sum()
            assert torch.isclose(y[o, q], taps), (k, s, p, o, q)
            values.add(round(y[o, q].item(), 9))
        if s > 1 and k > 1:
            assert len(values) > 1, (k, s, p)  # a random kernel: a pattern of period s
        ones = F.conv_transpose2d(
            x, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s, padding=p
        )
        flat = ones[0, 0][inner][:, inner].unique().numel() == 1
        assert flat == (k % s == 0), (k, s, p)


# --- Sections 4.1 to 4.5 (ch-transposed to sec-output-padding) ------------------------

SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS = (
    (1, 2, 5, 16),
    (1, 2, 3, 4, 5),
    (1, 2, 3, 4),
    (
        0,
        1,
        2,
        4,
    ),
    (1, 2, 3, 4),
)


def _tconv_out(n, k, s, p, d, op):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def _grid(ops=True):
    """(n, k, s, p, d, op) with a positive output size that PyTorch accepts."""
    for n, k, s, p, d in itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS):
        for op in range(max(s, d)) if ops else (0,):
            if _tconv_out(n, k, s, p, d, op) >= 1:
                yield n, k, s, p, d, op


def _insert_zeros(x, s):
    """``stride - 1`` zeros between the pixels of the last two dims."""
    N, C, H, W = x.shape
    up = x.new_zeros(N, C, (H - 1) * s + 1, (W - 1) * s + 1)
    up[:, :, ::s, ::s] = x
    return up


def _gather(x, weight, s, p, op, d, g=1, pad=None):
    """Section 4.4's gather: zeros, pad ``dil(k-1) - p`` (``pad`` replaces it), op at the
    bottom/right, rotate, swap channels within each group, convolve with dilation."""
    k = weight.shape[-1]
    q = d * (k - 1) - p if pad is None else pad
    up = F.pad(_insert_zeros(x, s), (q, q + op, q, q + op))
    C_in, C_out_g = weight.shape[:2]
    w = (
        weight.view(g, C_in // g, C_out_g, k, k)
        .transpose(1, 2)
        .reshape(g * C_out_g, C_in // g, k, k)
    )
    return F.conv2d(up, torch.rot90(w, 2, dims=[2, 3]), dilation=d, groups=g)


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_scatter_stamps_every_tap_at_rs_plus_i_dil_minus_p():
    """[sec-scatter]
    > the output has room for all the stamps, $(\\mathrm{in} - 1)s + k$ = 5 pixels per side

    [sec-scatter]
    > With every parameter, input pixel $r$ of one dimension stamps tap $i$ at output
    > $o = rs + i\\,\\mathrm{dil} - p$

    [sec-scatter]
    > and the stamps' parts that land outside the output
    > ($o < 0$ or $o \\ge \\mathrm{out}$) are cropped.

    [ch-transposed]
    > every input pixel stamps a scaled copy of the kernel into the output,
    > and overlapping stamps add

    A literal 1-D scatter (one stamp per pixel and tap, added at o = r*s + i*dil - p, kept
    where 0 <= o < out) against conv_transpose1d over every size, kernel, stride, padding,
    dilation and output_padding of the grid; and without padding, dilation and
    output_padding the output is (in - 1)s + k long.
    """
    for n, k, s, p, d, op in _grid():
        x, w = _rand(n, seed=n), _rand(k, seed=k + 7)
        out = _tconv_out(n, k, s, p, d, op)
        y = torch.zeros(out, dtype=torch.float64)
        for r in range(n):
            for i in range(k):
                o = r * s + i * d - p
                if 0 <= o < out:
                    y[o] += x[r] * w[i]
        ref = F.conv_transpose1d(x[None, None], w[None, None], None, s, p, op, 1, d)[0, 0]
        assert torch.allclose(y, ref), (n, k, s, p, d, op)
        if p == 0 and d == 1 and op == 0:
            assert ref.numel() == (n - 1) * s + k


def test_transpose_of_the_conv_matrix_is_the_transposed_convolution():
    """[sec-matrix-view]
    > Its transpose maps 2 x 2 back to 5 x 5, and it is exactly the scatter above: the name
    > "transposed convolution" is literal.

    [sec-matrix-view]
    > Row $j$ of $C^\\top$ is column $j$
    > of $C$: the taps with which the transposed convolution's input pixels reach its output
    > pixel $j$, that is, the stamps that land on $j$.

    For every image size (up to 7, the matrix is built from basis images), kernel,
    stride, padding and dilation where the convolution has an output: C^T vec(y) equals
    conv_transpose2d(y) with the output_padding that restores the image size.
    """
    import convlab

    for n, k, s, p, d in itertools.product(
        (1, 2, 5, 7), (1, 2, 3, 5), STRIDES, (0, 1, 2), (1, 2, 3)
    ):
        if n + 2 * p < d * (k - 1) + 1:
            continue
        w = _rand(k, k, seed=k)
        Cm = convlab.conv_matrix((n, n), w, stride=s, padding=p, dilation=d)
        m = (n + 2 * p - d * (k - 1) - 1) // s + 1
        y = _rand(m, m, seed=m)
        a = (n + 2 * p - d * (k - 1) - 1) % s
        ref = F.conv_transpose2d(y[None, None], w[None, None], None, s, p, a, 1, d)[0, 0]
        assert torch.allclose((Cm.T @ y.flatten()).view(n, n), ref), (n, k, s, p, d)
        for o in range(m * m):  # column o of C^T: the stamp of input pixel o
            e = torch.zeros(m * m, dtype=torch.float64)
            e[o] = 1
            stamp = F.conv_transpose2d(e.view(1, 1, m, m), w[None, None], None, s, p, a, 1, d)
            assert torch.equal(Cm.T[:, o], stamp.flatten())


def test_col2im_is_a_product_and_a_fold_to_the_canvas_then_crop_and_pad():
    """[sec-col2im]
    > here the full canvas $(\\mathrm{in}-1)s + \\mathrm{dil}(k-1) + 1$. `padding` crops $p$
    > pixels off each side of it.

    [sec-col2im]
    > the transposed convolution adds `output_padding` rows and columns at the
    > **bottom/right** only, so the output size is

    [sec-col2im]
    > that is `cols = weight.view(C_in, -1).T @ x`. Then `fold` adds the columns onto the
    > output at `stride` steps.

    [sec-col2im]
    > No multiplication touches a zero.

    weight.T @ x (one product per input pixel, channel pair and tap: the count of
    multiply-adds is C_in * C_out * K * H * W, none of them on a zero the method put
    there), folded to the full canvas, cropped by padding and extended by output_padding
    at the bottom/right, against conv_transpose2d over the grid; the shape is the size
    formula. Then output_padding at the top/left instead fails wherever it is nonzero.
    """
    for n, k, s, p, d, op in _grid():
        x, w = _rand(1, 2, n, n, seed=n), _rand(2, 3, k, k, seed=k)
        cols = w.view(2, -1).T @ x.view(1, 2, n * n)  # (1, 3 * k * k, n * n)
        assert cols.numel() == 3 * k * k * n * n  # one product-sum per stamp entry
        full = (n - 1) * s + d * (k - 1) + 1
        canvas = F.fold(cols, (full, full), k, d, 0, s)
        y = F.pad(canvas, (-p, op - p, -p, op - p))
        ref = F.conv_transpose2d(x, w, None, s, p, op, 1, d)
        out = _tconv_out(n, k, s, p, d, op)
        assert ref.shape[2:] == (out, out)
        assert torch.allclose(y, ref), (n, k, s, p, d, op)
        if op and out > op and ref.abs().max() > 0:
            wrong = F.pad(canvas, (op - p, -p, op - p, -p))
            assert not torch.allclose(wrong, ref)


def test_a_strided_convolution_maps_s_input_sizes_to_one_output_size():
    """[sec-col2im]
    > `output_padding` exists because a strided convolution maps several
    > input sizes to one output size

    [sec-output-padding]
    > A strided convolution maps **several** input sizes to one output size, because the floor
    > drops the remainder.

    For every kernel, stride >= 2, padding and dilation: the convolution's output size,
    as a function of the input size, takes each value for exactly `stride` consecutive
    input sizes (torch computes the sizes).
    """
    for k, s, p, d in itertools.product(KERNELS, (2, 3, 4), PADDINGS, DILATIONS):
        w = torch.zeros(1, 1, k)
        sizes = {}
        for n in range(1, 60):
            if n + 2 * p < d * (k - 1) + 1:
                continue
            m = F.conv1d(torch.zeros(1, 1, n), w, None, s, p, d).shape[-1]
            sizes.setdefault(m, []).append(n)
        full = [v for m, v in sizes.items() if m != max(sizes) and m != min(sizes)]
        assert full and all(len(v) == s for v in full), (k, s, p, d)


def _one_fold(x, weight, s, p, op, d, g):
    N, C_in, H, W = x.shape
    k = weight.shape[-1]
    C_out = weight.shape[1] * g
    w_t = weight.reshape(g, C_in // g, -1).transpose(1, 2)  # (g, C_out/g * K, C_in/g)
    cols = (w_t @ x.reshape(N, g, C_in // g, H * W)).reshape(N, C_out * k * k, H * W)
    out = _tconv_out(H, k, s, p, d, op)
    return cols, F.fold(cols, (out, out), k, d, p, s)


def test_one_fold_with_the_convolutions_parameters_is_the_transposed_convolution():
    """[sec-one-fold]
    > **one `fold` with the convolution's own `kernel_size`, `dilation`,
    > `padding` and `stride`**, and `output_size` the transposed convolution's output size
    > {eq}`eq-tconv-out`. For `output_padding` $a < s$:

    [sec-one-fold]
    > Block $l$ starts at $ls - p$, where pixel $l$'s stamp lands; `fold` adds
    > the stamps on the padded canvas and crops `padding`, which is the transposed
    > convolution's `padding`.

    [ch-transposed]
    > **col2im**: a matrix product, then one `fold` with the convolution's own parameters,
    > which is the scatter in two steps

    [sec-one-fold]
    > With groups, the product is taken group by group (each group's `C_in / g` input channels
    > with its own `C_out / g` outputs) and the columns stacked; the `fold` stays one.

    [sec-one-fold]
    > The `fold` that takes the convolution's own
    > parameters is the transposed convolution

    [sec-one-fold]
    > The input needs no unrolling: `img.view(N, C_in, H * W)` already is the matrix that the
    > unrolled, transposed kernel multiplies.

    Every size, kernel, stride, padding, dilation and output_padding < stride of the grid,
    with 1 and 2 groups: the per-group product and one fold with the convolution's own
    parameters and output_size = out equal conv_transpose2d (float64).
    """
    count = 0
    for n, k, s, p, d, op in _grid():
        if op >= s:
            continue
        for g in (1, 2):
            x, w = _rand(1, 2 * g, n, n, seed=n + g), _rand(2 * g, 2, k, k, seed=k)
            _, y = _one_fold(x, w, s, p, op, d, g)
            assert torch.allclose(y, F.conv_transpose2d(x, w, None, s, p, op, g, d))
            count += 1
    assert count > 2000


def test_the_image_of_size_out_has_in_blocks_exactly_when_a_is_below_s():
    """[sec-one-fold]
    > the image has
    > $\\lfloor ((\\mathrm{in}-1)s + a)/s \\rfloor + 1 = \\mathrm{in}$ blocks per dimension
    > exactly when $a < s$.

    [sec-one-fold]
    > The condition $a < s$ is needed.

    [sec-output-padding]
    > a larger one would give a size from which the convolution does not come back
    > to `in` pixels, and {ref}`sec-one-fold`'s single `fold` refuses it.

    torch's own convolution of an image of size out (the block count) for every a up to
    2s - 1; and for every output_padding >= stride that PyTorch accepts (it is below the
    dilation), the one fold raises while a fold to the full canvas and a pad still agree.
    """
    for n, k, s, p, d in itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS):
        for a in range(2 * s):
            out = _tconv_out(n, k, s, p, d, a)
            if out < 1 or out + 2 * p < d * (k - 1) + 1:
                continue
            blocks = F.conv1d(torch.zeros(1, 1, out), torch.zeros(1, 1, k), None, s, p, d)
            assert (blocks.shape[-1] == n) == (a < s), (n, k, s, p, d, a)
    refused = 0
    for n, k, s, p, d, op in _grid():
        if op < s:
            continue
        x, w = _rand(1, 2, n, n, seed=n), _rand(2, 1, k, k, seed=k)
        with pytest.raises(RuntimeError, match="sliding blocks"):
            _one_fold(x, w, s, p, op, d, 1)
        refused += 1
        cols = w.view(2, -1).T @ x.view(1, 2, n * n)
        full = (n - 1) * s + d * (k - 1) + 1
        y = F.pad(F.fold(cols, (full, full), k, d, 0, s), (-p, op - p, -p, op - p))
        assert torch.allclose(y, F.conv_transpose2d(x, w, None, s, p, op, 1, d))
    assert refused > 100


def test_fold_with_kernel_size_one_is_a_reshape():
    """[sec-one-fold]
    > The forum's `fold(kernel_size=1)` uses different parameters:
    > it is a reshape

    Random columns folded with kernel_size=1 (stride 1, padding 0) to every shape up to 16
    equal a view.
    """
    for h, w in itertools.product(range(1, 17), (1, 5, 16)):
        cols = _rand(2, 3, h * w, seed=h)
        assert torch.equal(F.fold(cols, (h, w), 1), cols.view(2, 3, h, w))


def test_a_strided_transposed_convolution_is_a_stride_one_one_of_the_zero_stuffed_input():
    """[sec-gather-stride]
    > a transposed convolution with
    > stride $s$ is a stride-1 transposed convolution of the zero-stuffed input

    Every size, kernel, stride, padding and dilation of the grid (output_padding 0):
    conv_transpose2d(x, stride=s) equals conv_transpose2d(insert_zeros(x, s), stride=1).
    """
    for n, k, s, p, d, _ in _grid(ops=False):
        x, w = _rand(1, 2, n, n, seed=n), _rand(2, 3, k, k, seed=k)
        ref = F.conv_transpose2d(x, w, None, s, p, 0, 1, d)
        mine = F.conv_transpose2d(_insert_zeros(x, s), w, None, 1, p, 0, 1, d)
        assert torch.allclose(mine, ref), (n, k, s, p, d)


def test_gather_pads_dil_k_minus_1_minus_p_and_output_padding_at_the_bottom_right():
    """[sec-gather-padding]
    > Putting $q$ zeros in front of $u$ moves its pixels
    > $q$ places on:

    [sec-gather-padding]
    > The same $q$ zeros at
    > the end let the last window end on the last pixel's last tap, and `output_padding` adds
    > its rows after them, at the bottom/right only.

    [sec-gather-padding]
    > Where $p > \\mathrm{dil}(k-1)$, $q$ is
    > negative and the input is cropped instead

    [sec-gather]
    > a correlation (what `conv2d`
    > computes) with the kernel reversed. In 2-D both axes reverse: a 180-degree rotation.

    [sec-gather-dilation]
    > Dilation enters twice: in the padding, $\\mathrm{dil}(k-1) - p$, and in the convolution
    > itself (the rotated kernel is dilated too).

    The gather (zeros, pad q = dil(k-1) - p, or crop when negative, output_padding at the
    bottom/right, rotate, convolve with dilation) against conv_transpose2d over the whole
    grid, padding larger than the dilated kernel included.
    """
    cropped = 0
    for n, k, s, p, d, op in _grid():
        x, w = _rand(1, 2, n, n, seed=n), _rand(2, 3, k, k, seed=k)
        if (n - 1) * s + 1 + 2 * (d * (k - 1) - p) + op < d * (k - 1) + 1:
            continue
        ref = F.conv_transpose2d(x, w, None, s, p, op, 1, d)
        assert torch.allclose(_gather(x, w, s, p, op, d), ref), (n, k, s, p, d, op)
        cropped += p > d * (k - 1)
    assert cropped > 50


def test_output_zero_without_padding_is_the_first_pixel_times_tap_zero():
    """[sec-gather-padding]
    > without `padding`, output 0 is where the first stamp's tap 0 lands

    1-D, every size, kernel, stride and dilation, one channel: y[0] = x[0] * w[0].
    """
    for n, k, s, d in itertools.product(SIZES, KERNELS, STRIDES, DILATIONS):
        x, w = _rand(n, seed=n), _rand(k, seed=k)
        y = F.conv_transpose1d(x[None, None], w[None, None], None, s, 0, 0, 1, d)[0, 0]
        assert torch.isclose(y[0], x[0] * w[0])


def test_skipping_the_rotation_is_wrong_for_random_kernels():
    """[sec-gather]
    > Skipping the rotation, a convolution "with the transposed weights" as it is sometimes
    > described, swaps the channels but reads every block backwards

    Every kernel size >= 2 and stride (random kernels): the gather without the rot90
    differs from conv_transpose2d.
    """
    for k, s in itertools.product((2, 3, 4, 5), STRIDES):
        x, w = _rand(1, 2, 5, 5, seed=k), _rand(2, 3, k, k, seed=s)
        up = F.pad(_insert_zeros(x, s), (k - 1,) * 4)
        no_flip = F.conv2d(up, w.transpose(0, 1))
        assert not torch.allclose(no_flip, F.conv_transpose2d(x, w, stride=s))


def test_the_forum_answers_error_is_float32_rounding():
    """[sec-gather]
    > Relative to
    > values of size ~100 that is float32 rounding of sums of 450 products in a different
    > order; in float64 it vanishes

    The forum's shapes in float64, several seeds: the gather and conv_transpose2d agree to
    1e-10; in float32 their relative difference stays under 1e-6.
    """
    for seed in range(3):
        img, w = _rand(1, 50, 28, 28, seed=seed), _rand(50, 30, 3, 3, seed=seed + 10)
        ref = F.conv_transpose2d(img, w)
        assert torch.allclose(_gather(img, w, 1, 0, 0, 1), ref, rtol=0, atol=1e-10)
        out32 = _gather(img.float(), w.float(), 1, 0, 0, 1)
        ref32 = F.conv_transpose2d(img.float(), w.float())
        assert ((out32 - ref32).abs().max() / ref32.abs().max()).item() < 1e-6


def test_padding_by_p_is_right_only_when_p_equals_dil_k_minus_1_minus_p():
    """[sec-trap-padding]
    > Padding the zero-stuffed input by `padding` instead of $\\mathrm{dil}(k-1) - p$ looks
    > right in the most common test, `kernel_size=3, padding=1`, because there the two are
    > equal ($2 - 1 = 1$). Any other kernel exposes it

    Over kernels, strides and paddings (dilation 1): padding by p gives conv_transpose2d's
    output exactly when p = k - 1 - p; with padding=1, every kernel size but 3 fails.
    """
    for n, k, s, p in itertools.product((2, 5), KERNELS, STRIDES, PADDINGS):
        x, w = _rand(1, 2, n, n, seed=n), _rand(2, 3, k, k, seed=k)
        try:
            ref = F.conv_transpose2d(x, w, None, s, p)
        except RuntimeError:
            continue
        try:
            mine = _gather(x, w, s, p, 0, 1, pad=p)
            same = mine.shape == ref.shape and torch.allclose(mine, ref)
        except RuntimeError:  # the padded input is smaller than the kernel
            same = False
        assert same == (p == k - 1 - p), (n, k, s, p)


def test_output_padding_at_the_top_left_shifts_the_image():
    """[sec-trap-output-padding]
    > `output_padding` extends the output at the bottom/right. Putting the extra zeros before
    > the input instead shifts every value by one pixel: the right shape, the wrong image.

    Every kernel >= 2, stride >= 2, padding and dilation with output_padding 1 (random
    data): the top/left version has the right shape, differs, and equals the right image
    moved one pixel down and right.
    """
    for n, k, s, p, d in itertools.product((3, 5), (2, 3, 4, 5), (2, 3, 4), (0, 1, 2), (1, 2)):
        q = d * (k - 1) - p
        if q < 0:
            continue
        x, w = _rand(1, 2, n, n, seed=n), _rand(2, 3, k, k, seed=k)
        up = F.pad(_insert_zeros(x, s), (q + 1, q, q + 1, q))
        wrong = F.conv2d(up, torch.rot90(w, 2, dims=[2, 3]).transpose(0, 1), dilation=d)
        ref = F.conv_transpose2d(x, w, None, s, p, 1, 1, d)
        assert wrong.shape == ref.shape and not torch.allclose(wrong, ref)
        assert torch.allclose(wrong[..., 1:, 1:], ref[..., :-1, :-1])


def test_channels_swap_within_each_group_and_a_global_reshape_is_wrong():
    """[sec-trap-groups]
    > so in and out channels must be swapped **within each group**

    [sec-trap-groups]
    > forcing the shape with a `reshape` runs, and is wrong (it is right only when each group
    > has a single input or a single output channel, where the swap moves nothing)

    Groups 1 to 4 with several channel counts, strides and kernels: the per-group swap
    agrees with conv_transpose2d; for groups > 1 a global transpose has a shape conv2d
    refuses (unless it happens to fit) and a reshape to the right shape is wrong.
    """
    for g, ci, co, k, s in itertools.product((1, 2, 3, 4), (1, 2), (1, 3), (2, 3), (1, 2)):
        x, w = _rand(1, g * ci, 4, 4, seed=g), _rand(g * ci, co, k, k, seed=k + co)
        ref = F.conv_transpose2d(x, w, None, s, 0, 0, g)
        assert torch.allclose(_gather(x, w, s, 0, 0, 1, g), ref)
        if g > 1:
            up = F.pad(_insert_zeros(x, s), (k - 1,) * 4)
            forced = torch.rot90(w, 2, dims=[2, 3]).reshape(g * co, ci, k, k)
            same = torch.allclose(F.conv2d(up, forced, groups=g), ref)
            assert same == (ci == 1 or co == 1), (g, ci, co, k, s)


def test_the_restoring_output_padding_is_the_remainder_and_the_only_one():
    """[sec-output-padding]
    > A transposed convolution with the same parameters maps 6 back to one size,
    > 16, unless `output_padding` picks another; the one that restores the input is

    [sec-output-padding]
    > So `tconv(conv(x)).shape == x.shape` holds only with the right `output_padding`.

    [sec-output-padding]
    > Since $a$ in {eq}`eq-output-padding` is a remainder modulo $s$, the restoring
    > `output_padding` is always below `stride`

    For every size, kernel, stride, padding and dilation where the convolution runs: the
    transposed convolution returns the input size with output_padding
    a = (in + 2p - dil(k-1) - 1) mod s and with no other value PyTorch accepts.
    """
    for n, k, s, p, d in itertools.product(range(1, 17), KERNELS, STRIDES, PADDINGS, DILATIONS):
        if n + 2 * p < d * (k - 1) + 1:
            continue
        m = (n + 2 * p - d * (k - 1) - 1) // s + 1
        a = (n + 2 * p - d * (k - 1) - 1) % s
        assert a < s
        restoring = [op for op in range(max(s, d)) if _tconv_out(m, k, s, p, d, op) == n]
        assert restoring == [a], (n, k, s, p, d)
    for n, k, s, p in itertools.product((15, 16, 17), (3, 5), (2, 3), (1, 2)):
        w = torch.zeros(1, 1, k, k)
        y = F.conv2d(torch.zeros(1, 1, n, n), w, None, s, p)
        a = (n + 2 * p - (k - 1) - 1) % s
        assert F.conv_transpose2d(y, w, None, s, p, a).shape[-1] == n


def test_conv_transpose_module_picks_output_padding_from_a_target_size():
    """[sec-output-padding]
    > `nn.ConvTranspose2d` can work it out for you from a target size, as long as the
    > `output_padding` it needs is below `stride`:

    [sec-output-padding]
    > The module looks for an `output_padding` below `stride` only.

    For sizes, kernels, strides, paddings and dilations: the module called with
    output_size=(t, t) returns t x t when the output_padding that gives t is below the
    stride, and raises ValueError when it is only below the dilation (which the function
    accepts).
    """
    import torch.nn as nn

    refused = 0
    for m, k, s, p, d in itertools.product(range(2, 7), (1, 2, 3), STRIDES, (0, 1), (1, 2, 3)):
        up = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, dilation=d)
        x = torch.zeros(1, 1, m, m)
        for op in range(max(s, d)):
            t = _tconv_out(m, k, s, p, d, op)
            if t < 1:
                continue
            assert F.conv_transpose2d(x, up.weight, None, s, p, op, 1, d).shape[-1] == t
            if op < s:
                assert up(x, output_size=(t, t)).shape[-1] == t
            else:
                with pytest.raises(ValueError, match="valid sizes range"):
                    up(x, output_size=(t, t))
                refused += 1
    assert refused > 50


def test_pytorch_accepts_output_padding_below_stride_or_below_dilation():
    """[sec-output-padding]
    > PyTorch's function accepts
    > `output_padding` when it is smaller than `stride` **or** smaller than `dilation`, that is
    > when $a < \\max(s, \\mathrm{dil})$, checked in each dimension on its own

    Every stride, dilation and output_padding up to 5, per dimension (the two dimensions
    with different values): conv_transpose2d runs exactly when each dimension's
    output_padding is below its stride or its dilation.
    """
    x, w = torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2)
    rng = range(1, 5)
    for s0, d0, s1, d1 in itertools.product(rng, rng, (1, 3), (1, 2)):
        for op0, op1 in itertools.product(range(6), range(4)):
            ok = op0 < max(s0, d0) and op1 < max(s1, d1)
            try:
                F.conv_transpose2d(x, w, None, (s0, s1), 0, (op0, op1), 1, (d0, d1))
                ran = True
            except RuntimeError:
                ran = False
            assert ran == ok, (s0, d0, s1, d1, op0, op1)


def test_the_added_rows_are_canvas_rows_while_output_padding_is_at_most_padding():
    """[sec-output-padding]
    > The first
    > $\\min(a, p)$ added rows are canvas rows that `padding` would otherwise crop: each holds the
    > sum of the stamps that reach it, and is empty only where the stride leaves a gap
    > between stamps. The rest, when $a > p$, lie past the canvas: no stamp reaches them.
    > Then `bias` is added to every output pixel, the added ones too.

    [sec-output-padding]
    > So with
    > `output_padding <= padding` the added rows are real data, not zeros, unless no stamp
    > reaches them:

    Every size, kernel, stride, padding, dilation and output_padding of the grid (random
    data): the a added rows equal the canvas rows out - a + p, ... where those exist; such
    a row is all zero exactly when no stamp reaches it (and that happens with a <= p, so
    the old "a <= p: real data" was false); rows past the canvas are zero; a bias adds
    itself to every added row.
    """
    real = empty = 0
    for n, k, s, p, d, a in _grid():
        if a == 0:
            continue
        x, w = _rand(1, 1, n, n, seed=n), _rand(1, 1, k, k, seed=k)
        canvas = F.conv_transpose2d(x, w, None, s, 0, 0, 1, d)[0, 0]
        y = F.conv_transpose2d(x, w, None, s, p, a, 1, d)[0, 0]
        yb = F.conv_transpose2d(x, w, torch.tensor([0.5], dtype=x.dtype), s, p, a, 1, d)[0, 0]
        assert torch.allclose(yb - y, torch.full_like(y, 0.5))
        out, full = y.shape[0], canvas.shape[0]
        cols = slice(p, min(full, out + p))
        for o in range(max(0, out - a), out):
            if o + p < full:
                row = y[o, : cols.stop - cols.start]
                assert torch.allclose(row, canvas[o + p, cols]), (n, k, s, p, d, a, o)
                stamped = any(
                    (o + p - i * d) % s == 0 and 0 <= (o + p - i * d) // s < n for i in range(k)
                )
                if min(n, out) > 1:
                    assert bool((row != 0).any()) == stamped, (n, k, s, p, d, a, o)
                    real += stamped
                    empty += not stamped and a <= p
            else:
                assert (y[o] == 0).all(), (n, k, s, p, d, a, o)
    assert real > 100 and empty > 10


def _real_share_1d(n, k, s, p, d, op):
    """The share of the gather's reads along one dimension that land on a real pixel."""
    q = d * (k - 1) - p
    line = torch.zeros((n - 1) * s + 1, dtype=torch.float64)
    line[::s] = 1
    line = F.pad(line[None, None, None], (q, q + op))  # negative q crops
    return F.unfold(line, (1, k), dilation=(1, d)).mean().item()


def test_the_gather_multiplies_mostly_zeros_once_the_stride_is_two():
    """[ch-transposed]
    > with a `stride` of 2 or more and no
    > `padding` in every dimension (and an output of at least 2 x 2), most of its
    > multiply-adds read a zero.

    The share of real reads is the product of one share per dimension (checked on 2-D
    cases against one 2-D unfold of the mask). Over every size, kernel, stride >= 2,
    dilation and output_padding with padding 0 and an output of at least 2, one
    dimension's share is at most 2/3, so two give at most 4/9 < 1/2. And "every
    dimension" is needed: stride (2, 1) with a 1 x 1 kernel on 4 x 4 reads 43 % zeros.
    """
    shares = {}
    for n, k, s, p, d, op in _grid():
        if _tconv_out(n, k, s, p, d, op) >= 2:
            shares[n, k, s, p, d, op] = _real_share_1d(n, k, s, p, d, op)
    no_pad = [v for (n, k, s, p, d, op), v in shares.items() if s >= 2 and p == 0]
    assert len(no_pad) > 500 and max(no_pad) <= 2 / 3 + 1e-9
    # the product rule, on pairs of dimensions
    keys = sorted(shares)
    for a, b in zip(keys[::97], keys[5::89]):
        (n0, k0, s0, p0, d0, o0), (n1, k1, s1, p1, d1, o1) = a, b
        q0, q1 = d0 * (k0 - 1) - p0, d1 * (k1 - 1) - p1
        mask = torch.zeros(1, 1, (n0 - 1) * s0 + 1, (n1 - 1) * s1 + 1, dtype=torch.float64)
        mask[..., ::s0, ::s1] = 1
        mask = F.pad(mask, (q1, q1 + o1, q0, q0 + o0))
        two_d = F.unfold(mask, (k0, k1), dilation=(d0, d1)).mean().item()
        assert abs(two_d - shares[a] * shares[b]) < 1e-6, (a, b)
    # without the qualifiers it fails
    uneven = _real_share_1d(4, 1, 2, 0, 1, 0) * _real_share_1d(4, 1, 1, 0, 1, 0)
    assert 1 - uneven < 0.5


def test_the_title_counts_the_ways_the_chapter_lists():
    """[ch-transposed]
    > This chapter computes it
    > four ways and calls them by these names throughout:

    The title's number word equals the number of ways listed in the introduction (the
    old title said "three ways" over four), and each way's name appears in its section's
    heading or first lines.
    """
    from claims_index import sections

    _, intro = sections()["ch-transposed"]
    words = {"three": 3, "four": 4, "five": 5}
    title = re.search(r"^# 4\. Transposed convolution, (\w+) ways", intro, re.M)
    listed = re.findall(r"^\d\. \*\*(\w+)\*\*", intro, re.M)
    assert title and words[title.group(1)] == len(listed) == 4
    for name, label in zip(listed, ("sec-scatter", "sec-matrix-view", "sec-col2im", "sec-gather")):
        head = sections()[label][1].lstrip().splitlines()[0].lower()
        assert name in head, (name, head)


def test_a_transposed_convolutions_weight_is_c_in_by_c_out_over_groups():
    """[sec-col2im]
    > The weight of a transposed
    > convolution is laid out `(C_in, C_out / groups, kH, kW)`

    nn.ConvTranspose2d for channel counts divisible by 1 to 4 groups and non-square
    kernels: its weight has that shape, and F.conv_transpose2d accepts it.
    """
    import torch.nn as nn

    for g, ci, co, kh, kw in itertools.product((1, 2, 3, 4), (1, 2), (1, 3), (1, 3), (2, 5)):
        m = nn.ConvTranspose2d(g * ci, g * co, (kh, kw), groups=g)
        assert m.weight.shape == (g * ci, co, kh, kw)
        F.conv_transpose2d(torch.zeros(1, g * ci, 3, 3), m.weight, groups=g)


def test_convlab_fold_and_rot90_methods_agree_with_torch_for_every_parameter():
    """[sec-col2im]
    > `convlab.conv_transpose2d(..., method="fold")` is this, with every parameter and groups.

    [sec-trap-groups]
    > `convlab.conv_transpose2d(..., method="rot90")` is this gather with every parameter, and
    > agrees with torch and with the `fold` method

    [sec-trap-groups]
    > A convolution wants
    > `(C_out, C_in/g, k, k)`

    Both methods against torch over sizes, kernels (non-square), strides, paddings,
    dilations, every accepted output_padding and 1 to 3 groups (float64); and
    nn.Conv2d's weight has the convolution's layout.
    """
    import torch.nn as nn

    import convlab

    grid = itertools.product((1, 3, 6), ((1, 2), (3, 3), (5, 2)), (1, 2, 4), (0, 1, 4), (1, 3))
    for n, (kh, kw), s, p, d in grid:
        for op, g in itertools.product(range(max(s, d)), (1, 3)):
            if min(_tconv_out(n, kh, s, p, d, op), _tconv_out(n, kw, s, p, d, op)) < 1:
                continue
            x, w = _rand(2, 2 * g, n, n, seed=n), _rand(2 * g, 2, kh, kw, seed=kh + g)
            ref = F.conv_transpose2d(x, w, None, s, p, op, g, d)
            for method in ("fold", "rot90"):
                mine = convlab.conv_transpose2d(x, w, None, s, p, op, g, d, method=method)
                assert torch.allclose(mine, ref), (n, kh, kw, s, p, d, op, g, method)
    for g in (1, 2, 3):
        assert nn.Conv2d(2 * g, 4 * g, (3, 2), groups=g).weight.shape == (4 * g, 2, 3, 2)


def _column_buffers(x, weight, **kw):
    """Shapes of the (N, rows, cols) buffers the profiler sees zeroed under the call."""
    from torch.profiler import ProfilerActivity, profile

    from convlab.aten import _quiet_fd2

    with _quiet_fd2(), profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        F.conv_transpose2d(x, weight, **kw)
    return [tuple(e.input_shapes[0]) for e in prof.events() if e.name == "aten::zero_"]


def test_gather_multiplies_mostly_zeros_from_stride_two():
    """[sec-zero-cost]
    > The gather method convolves over the zero-stuffed input, so with a stride of 2 or more
    > in every dimension (and an output of at least 2 x 2) most of its multiply-adds multiply
    > a zero, an inserted one or a padding one, whatever the padding. With `stride=(2, 1)` it
    > can be fewer than half.

    [sec-transposed-summary]
    > Cost ({ref}`sec-zero-cost`): the gather multiplies mostly zeros.

    Per dimension the gather does ``out * k`` products, of which those reading a real
    pixel are the scatter's products that land inside the output: ``#{(i, t) : 0 <=
    i*s + t*d - p < out}``. Input sizes 1 to 16, kernel 1 to 5, stride 2 to 4,
    dilation 1 to 4, padding up to 4 and every allowed output_padding: the share of
    real reads along one dimension is below 1/sqrt(2), from an output of 2 on, so over two
    dimensions (each with its own parameters) it is below one half (an output of one
    pixel can read only real pixels: n=3, k=1, s=2, p=2). With stride (2, 1) a 1 x 1
    kernel on 4 x 4 reads 4/7 real pixels.
    """
    worst = 0.0
    for n, k, s, d, p in itertools.product(
        range(1, 17), range(1, 6), range(2, 5), range(1, 5), range(5)
    ):
        for op in range(max(s, d)):
            out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if out < 2:
                continue
            real = sum(0 <= i * s + t * d - p < out for i in range(n) for t in range(k))
            share = real / (out * k)
            worst = max(worst, share)
            assert share < 0.5**0.5, (n, k, s, d, p, op)
    assert worst**2 > 0.3  # the bound is not vacuous
    assert 1 - (4 / 7) * 1 < 0.5  # stride (2, 1): 4 real of 7 rows, every column real
    # an output of one pixel per side may read only real pixels (the condition is needed)
    out = (3 - 1) * 2 - 2 * 2 + 1
    assert out == 1 and sum(0 <= i * 2 - 2 < out for i in range(3)) == 1


def _subpixel(x, weight, stride, padding=0, output_padding=0):
    """conv_transpose2d (dilation 1, one group) as stride**2 stride-1 convolutions, one
    per phase with the sub-kernel weight[:, :, a::s, b::s] rotated and its channels
    swapped, padded k_a - 1, interleaved into the full canvas, then cropped."""
    s, p, op = stride, padding, output_padding
    N, _, H, W = x.shape
    C_out, (kh, kw) = weight.shape[1], weight.shape[2:]
    full = x.new_zeros(N, C_out, (H - 1) * s + kh, (W - 1) * s + kw)
    for a, b in itertools.product(range(s), range(s)):
        sub = weight[:, :, a::s, b::s]  # (C_in, C_out, k_a, k_b)
        if sub.numel() == 0:
            continue  # the kernel is smaller than the stride: this phase stays 0
        ka, kb = sub.shape[2:]
        conv = sub.flip(2, 3).transpose(0, 1)  # a stride-1 transposed conv = this conv
        full[:, :, a::s, b::s] = F.conv2d(x, conv, padding=(ka - 1, kb - 1))
    return F.pad(full, (-p, op - p, -p, op - p))


def test_subpixel_decomposition_equals_conv_transpose2d():
    r"""[sec-subpixel]
    > a stride-1 transposed convolution of `x` with the **sub-kernel** `w[a::s]`. So a
    > transposed convolution with stride $s$ is $s^2$ stride-1 transposed convolutions, one per
    > phase $(a, b)$ with the sub-kernel `weight[:, :, a::s, b::s]`, whose outputs are
    > interleaved (phase $(a, b)$ fills rows $a, a + s, \dots$ and columns
    > $b, b + s, \dots$ of the full output), then cropped by `padding` like the `fold` method's
    > canvas: `padding` rows off the top and `padding - output_padding` off the bottom, and
    > where `output_padding` exceeds `padding`, `output_padding - padding` rows of zeros added
    > at the bottom instead (no stamp reaches past the canvas, {ref}`sec-output-padding`), and
    > the same for columns. No zero is inserted, so none is multiplied

    [sec-transposed-summary]
    > Sub-pixel ({ref}`sec-subpixel`): $s^2$ stride-1 convolutions, one per output phase with
    > that phase's taps, interleaved: no zero is inserted or multiplied.

    [sec-subpixel]
    > A stride-1 transposed convolution is the gather with
    > nothing to insert: a convolution with the rotated kernel, the channels swapped and
    > padding $k_a - 1$, where $k_a$ is the size of the sub-kernel

    Sizes 1 to 6 (not square), kernels 1 to 5 (not square, smaller than the stride
    too), stride 1 to 4, padding up to 3, every output_padding below the stride, two
    channel counts, float64: the decomposition (which never builds a zero-stuffed
    input) equals ``F.conv_transpose2d``; for stride 1 it is the rotated convolution.
    """
    g = torch.Generator().manual_seed(0)
    for (H, W), (kh, kw), s, p in itertools.product(
        ((1, 1), (3, 5), (6, 4)), ((1, 1), (2, 3), (4, 4), (5, 2)), range(1, 5), range(4)
    ):
        for op in range(s):
            if min((H - 1) * s - 2 * p + kh + op, (W - 1) * s - 2 * p + kw + op) < 1:
                continue
            x = torch.randn(2, 3, H, W, generator=g, dtype=torch.float64)
            weight = torch.randn(3, 2, kh, kw, generator=g, dtype=torch.float64)
            ref = F.conv_transpose2d(x, weight, stride=s, padding=p, output_padding=op)
            got = _subpixel(x, weight, s, p, op)
            assert got.shape == ref.shape and torch.allclose(got, ref), (H, W, kh, kw, s, p, op)


def test_pixel_shuffle_interleaves_equal_phases_when_the_stride_divides_the_kernel():
    """[sec-subpixel]
    > When the stride divides `kernel_size`, every phase has the same size and
    > `F.pixel_shuffle` interleaves them: it moves channel $4c + 2a + b$ of its input to the
    > pixels of phase $(a, b)$ of channel $c$.

    Strides 1 to 4 and kernels that are multiples of them, input sizes 1 to 5: every
    phase's output is ``in - 1 + k/s`` pixels per side, and stacking the phases as
    channel ``s*s*c + s*a + b`` (``4c + 2a + b`` for stride 2) then ``pixel_shuffle``
    gives the full canvas of the transposed convolution.
    """
    g = torch.Generator().manual_seed(1)
    for s, mult, n in itertools.product(range(1, 5), (1, 2), range(1, 6)):
        k = s * mult
        x = torch.randn(1, 3, n, n, generator=g, dtype=torch.float64)
        weight = torch.randn(3, 2, k, k, generator=g, dtype=torch.float64)
        phases = []
        for a, b in itertools.product(range(s), range(s)):
            sub = weight[:, :, a::s, b::s]
            phases.append(F.conv_transpose2d(x, sub))
            assert phases[-1].shape[2:] == (n - 1 + k // s, n - 1 + k // s)
        full = F.pixel_shuffle(torch.stack(phases, 2).flatten(1, 2), s)
        assert torch.allclose(full, F.conv_transpose2d(x, weight, stride=s))
        c, a, b = 1, s - 1, 0  # one channel of the stack lands on one phase
        assert torch.equal(
            full[:, c, a::s, b::s], torch.stack(phases, 2).flatten(1, 2)[:, s * s * c + s * a + b]
        )


def _macs(fn):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() // 2


def _eq_macs(n, k, s, p, op):
    """(gather, sub-pixel, fold) multiply-adds per dimension, by eq-subpixel-macs."""
    out = (n - 1) * s - 2 * p + k + op
    sizes = [len(range(a, k, s)) for a in range(s)]  # k_a = ceil((k - a) / s)
    return out * k, sum((n - 1 + ka) * ka for ka in sizes), n * k


def test_subpixel_multiply_adds_follow_the_formula_and_beat_the_gather():
    r"""[sec-subpixel]
    > Per spatial dimension, with $k_a = \lceil (k - a)/s \rceil$ the size of phase $a$'s
    > sub-kernel, the gather and the sub-pixel way do

    [sec-subpixel]
    > Count the multiply-adds of each way with `torch.utils.flop_counter.FlopCounterMode`,
    > which adds up the products of every matrix product and convolution a call runs (two
    > flops per multiply-add)

    [sec-subpixel]
    > The sub-pixel way does the fold's products plus those at each phase's border,
    > where its stride-1 convolution reads its own zero padding and computes rows that the
    > crop then drops. Without padding it never does more multiply-adds than the gather,
    > and for large inputs about $s^2$ times fewer

    ``FlopCounterMode`` counts what convlab's gather (method ``rot90``), the
    decomposition above and convlab's fold method run, over sizes 1 to 8, kernels 1
    to 5, strides 1 to 4, padding up to 2: they equal {eq}`eq-subpixel-macs` (the
    fold: ``in * k``), the sub-pixel count is at least the fold's, and with padding 0
    at most the gather's; at ``in = 200`` the ratio per dimension is within 3% of ``s``.
    """
    import convlab

    for n, k, s, p in itertools.product(range(1, 9), range(1, 6), range(1, 5), range(3)):
        for op in (0, s - 1):
            out = (n - 1) * s - 2 * p + k + op
            if out < 1:
                continue
            gather, sub, fold = _eq_macs(n, k, s, p, op)
            x, weight = torch.randn(1, 1, n, n), torch.randn(1, 1, k, k)
            kw = dict(stride=s, padding=p, output_padding=op)
            assert (
                _macs(partial(convlab.conv_transpose2d, x, weight, **kw, method="rot90"))
                == gather**2
            )
            assert (
                _macs(partial(convlab.conv_transpose2d, x, weight, **kw, method="fold")) == fold**2
            )
            assert _macs(partial(_subpixel, x, weight, s, p, op)) == sub**2
            assert sub >= fold
            if p == 0:
                assert sub <= gather, (n, k, s, op)
    for k, s in itertools.product(range(1, 6), range(1, 5)):
        gather, sub, _ = _eq_macs(200, k, s, 0, 0)
        assert abs(gather / sub - s) < 0.03 * s, (k, s)


def _stamp_counts(n, k, s, p=0, d=1):
    """How many stamps land on each output pixel (1-D): conv_transpose1d of ones."""
    ones = torch.ones(1, 1, n, dtype=torch.float64)
    w = torch.ones(1, 1, k, dtype=torch.float64)
    return F.conv_transpose1d(ones, w, stride=s, padding=p, dilation=d)[0, 0]


def test_stamp_counts_are_uneven_when_kernel_size_is_not_a_multiple_of_stride():
    """[sec-checkerboard]
    > When `kernel_size` is not a multiple of
    > `stride`, neighbouring output pixels receive different numbers of stamps

    [sec-checkerboard]
    > With dilation 1, a kernel
    > size divisible by the stride removes the uneven counts, not the phases

    Every kernel size up to 6, stride up to 4, dilation up to 4, padding up to 3 and
    input size up to 16: away from the border (outputs that every tap can reach),
    some two neighbours differ exactly when ``k % s != 0`` (any dilation), or, with
    dilation above 1, also when the stride divides ``k`` but not the tap pitch.
    With dilation 1, ``k % s == 0`` gives equal counts (and the phases of the test
    above remain).
    """
    for n, k, s, d, p in itertools.product(
        range(1, 17), range(1, 7), range(1, 5), range(1, 5), range(4)
    ):
        span = d * (k - 1)
        if (n - 1) * s + span + 1 - 2 * p < 1:
            continue
        y = _stamp_counts(n, k, s, p, d)
        inner = [o for o in range(y.shape[0]) if span <= o + p <= (n - 1) * s]
        if len(inner) < 2 * s * d:
            continue
        counts = y[inner]
        uneven = bool((counts[1:] != counts[:-1]).any())
        if k % s != 0:
            assert uneven, (n, k, s, d, p)
        if d == 1:
            assert uneven == (k % s != 0), (n, k, s, p)
    # with dilation, divisibility is not enough: k=4, s=2, d=2 misses every odd output
    assert _stamp_counts(8, 4, 2, 0, 2)[6:10].tolist() == [4, 0, 4, 0]


def test_all_ones_transposed_convolution_is_the_fold_divisor():
    """[sec-checkerboard]
    > With an all-ones input and kernel, the output
    > *is* that count

    Input sizes up to 8, kernels up to 5 (not square too), stride and dilation up
    to 3, padding up to 2: ``conv_transpose2d(ones, ones)`` equals
    ``fold(unfold(ones))`` of the output's size with the same parameters.
    """
    import convlab

    for n, kh, kw, s, d, p in itertools.product(
        range(1, 9), range(1, 6), (1, 3), range(1, 4), range(1, 4), range(3)
    ):
        out = (n - 1) * s - 2 * p + d * (kh - 1) + 1, (n - 1) * s - 2 * p + d * (kw - 1) + 1
        if min(out) < 1:
            continue
        y = F.conv_transpose2d(
            torch.ones(1, 1, n, n), torch.ones(1, 1, kh, kw), stride=s, padding=p, dilation=d
        )[0, 0]
        divisor = convlab.fold_divisor(out, (kh, kw), dilation=d, padding=p, stride=s)
        assert torch.equal(y, divisor), (n, kh, kw, s, d, p)


def _taps_met(n, k, s, p):
    """For each output pixel o (1-D, dilation 1), the set of taps whose products land
    on it: conv_transpose1d of a random input with a one-hot kernel per tap."""
    x = torch.rand(1, 1, n, dtype=torch.float64) + 0.5
    met = None
    for t in range(k):
        onehot = torch.zeros(1, 1, k, dtype=torch.float64)
        onehot[0, 0, t] = 1
        y = F.conv_transpose1d(x, onehot, stride=s, padding=p)[0, 0]
        met = met or [set() for _ in range(len(y))]
        for o in range(len(y)):
            if y[o] != 0:
                met[o].add(t)
    return met


def test_each_phase_meets_a_fixed_subset_of_taps_and_no_two_share_one():
    """[sec-checkerboard]
    > Take one dimension and dilation 1: input pixel $i$
    > puts tap $t$ of its stamp on output $o$ where $o + p = is + t$

    [sec-checkerboard]
    > The
    > output pixels of one **phase** `o mod stride` therefore meet one fixed subset of the
    > kernel's taps, and no two phases share a tap, whatever the kernel size

    [sec-checkerboard]
    > with `kernel_size=4, stride=2` and no padding, even outputs
    > get taps 0 and 2 of each dimension, odd outputs taps 1 and 3. In two dimensions a phase
    > is a pair (row phase, column phase), so stride 2 has four.

    Which taps reach each output, found by one-hot kernels (not by the formula), for
    sizes up to 10, kernels up to 6, strides up to 4, padding up to 3: every tap met by
    output ``o`` has ``t = o + p (mod s)``; inner outputs of one phase meet the same
    set; the phases' sets are disjoint (two may both be empty when ``k < s``).
    """
    for n, k, s, p in itertools.product(range(1, 11), range(1, 7), range(1, 5), range(4)):
        if (n - 1) * s + k - 2 * p < 1:
            continue
        met = _taps_met(n, k, s, p)
        for o, taps in enumerate(met):
            assert all((o + p - t) % s == 0 for t in taps), (n, k, s, p, o)
        inner = [o for o in range(len(met)) if k - 1 <= o + p <= (n - 1) * s]
        by_phase = {}
        for o in inner:
            by_phase.setdefault(o % s, set()).add(frozenset(met[o]))
        assert all(len(sets) == 1 for sets in by_phase.values()), (n, k, s, p)
        subsets = [next(iter(v)) for v in by_phase.values()]
        for a, b in itertools.combinations(subsets, 2):
            assert not a & b, (n, k, s, p)
    met = _taps_met(6, 4, 2, 0)
    assert met[4] == {0, 2} and met[5] == {1, 3}
    # two dimensions: the phases are the pairs; four for stride 2
    from convlab import draw

    assert draw.phase_taps_picture(4, 2).alt.count("phase (") == 4


@pytest.mark.parametrize("seed", range(4))
def test_two_stacked_transposed_convolutions_give_period_four(seed):
    """[sec-checkerboard]
    > two stacked layers give a pattern of period 4.

    [sec-transposed-summary]
    > Stacked layers compound the
    > pattern.

    Two stride-2 layers with random positive kernels of sizes 1 to 5 and padding up
    to 2 on a constant input: away from the border the output repeats every 4 pixels
    in each dimension, and not every 2.
    """
    g = torch.Generator().manual_seed(seed)
    for k1, k2, p in itertools.product(range(1, 6), range(1, 6), range(3)):
        w1 = torch.rand(1, 1, k1, k1, generator=g, dtype=torch.float64)
        w2 = torch.rand(1, 1, k2, k2, generator=g, dtype=torch.float64)
        x = torch.ones(1, 1, 12, 12, dtype=torch.float64)
        y = F.conv_transpose2d(
            F.conv_transpose2d(x, w1, stride=2, padding=p), w2, stride=2, padding=p
        )
        c = y[0, 0, 12:-12, 12:-12]
        c = c[: c.shape[0] // 4 * 4, : c.shape[1] // 4 * 4]
        assert c.shape[0] >= 8, (k1, k2, p)
        assert torch.allclose(c[:4, :4].repeat(c.shape[0] // 4, c.shape[1] // 4), c)
        assert not torch.allclose(c[:2, :2].repeat(c.shape[0] // 2, c.shape[1] // 2), c)


def test_resize_then_convolve_keeps_a_constant_constant_away_from_the_border():
    r"""[sec-checkerboard]
    > Its output of a
    > constant input is constant away from the border, for any kernel and after any number of
    > layers (only the rings the zero padding reaches differ)

    [sec-checkerboard]
    > In resize-then-convolve every output pixel, whatever its phase, sums all the kernel's
    > taps: nearest-neighbour upsampling copies each pixel into
    > an $s \times s$ block, so a constant stays a constant, and the convolution after it has
    > stride 1, so every output pixel is a sum over all the kernel's taps.

    [sec-transposed-summary]
    > Resize-then-convolve keeps a constant input constant away from the border.

    [sec-checkerboard]
    > resizing (for example
    > nearest-neighbour upsampling) followed by an ordinary convolution gives a constant input a
    > constant output away from the border.

    Nearest-neighbour upsampling by 2 to 4, random kernels of sizes 1 to 5 (signed),
    padding up to 2, one to three layers: the pixels outside the rings the zero
    padding reaches (each layer: ring * scale + padding) are all equal.
    """
    g = torch.Generator().manual_seed(0)
    for scale, k, p, layers in itertools.product(range(2, 5), range(1, 6), range(3), range(1, 4)):
        x = torch.full((1, 1, 5, 5), 3.0, dtype=torch.float64)
        ring = 0
        for _ in range(layers):
            w = torch.randn(1, 1, k, k, generator=g, dtype=torch.float64)
            x = F.conv2d(F.interpolate(x, scale_factor=scale), w, padding=p)
            ring = ring * scale + p
        inner = x[0, 0, ring : x.shape[2] - ring, ring : x.shape[3] - ring]
        assert inner.numel() > 0, (scale, k, p, layers)
        assert torch.allclose(inner, inner[0, 0].expand_as(inner)), (scale, k, p, layers)


@pytest.mark.parametrize("seed", range(3))
def test_a_transposed_convolution_does_not_undo_a_convolution(seed):
    """[sec-gradient]
    > a transposed convolution does not, in general,
    > undo a convolution, even when the shapes match

    Random kernels 2 to 5, strides 1 to 3, padding that keeps the size where it can,
    the output_padding that restores the shape: the shapes match and the image does
    not come back. (A single tap of +-1 is an exception, hence "in general".)
    """
    g = torch.Generator().manual_seed(seed)
    for k, s, p in itertools.product(range(2, 6), range(1, 4), range(3)):
        x = torch.randn(1, 1, 9, 9, generator=g, dtype=torch.float64)
        w = torch.randn(1, 1, k, k, generator=g, dtype=torch.float64)
        y = F.conv2d(x, w, stride=s, padding=p)
        a = (9 + 2 * p - (k - 1) - 1) % s
        back = F.conv_transpose2d(y, w, stride=s, padding=p, output_padding=a)
        assert back.shape == x.shape
        assert not torch.allclose(back, x, atol=1e-3), (k, s, p)
    one = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    x = torch.randn(1, 1, 5, 5, dtype=torch.float64)
    assert torch.allclose(F.conv_transpose2d(F.conv2d(x, one), one), x)  # the exception


def test_the_gradient_of_a_convolution_is_the_transposed_convolution():
    r"""[sec-gradient]
    > What it is: the **gradient** of a convolution with respect to its input. If $y = C x$
    > then $\partial L/\partial x = C^\top\, \partial L / \partial y$, and $C^\top$ is the
    > transposed convolution with the same weight, stride, padding, dilation and groups, plus
    > the `output_padding`

    [sec-transposed-summary]
    > Not an inverse; it is the gradient of the convolution with respect to its input, with
    > the same weight tensor

    [sec-gradient]
    > that restores the input's size (always less than the stride: the rows the convolution's
    > floor dropped). Note that the convolution's weight `(C_out, C_in/g, k, k)` is already in
    > the transposed convolution's layout `(C_in', C_out'/g, k, k)`

    Input sizes 5 to 12 (not square), kernels 1 to 4 (not square), stride 1 to 4,
    padding up to 2, dilation 1 to 3, groups 1 and 2: autograd's input gradient equals
    ``conv_transpose2d`` of the output gradient with the very same weight tensor and
    {eq}`eq-grad-output-padding`, which is ``(H + 2p - d(k-1) - 1) mod s < s``.
    """
    g = torch.Generator().manual_seed(0)
    for (H, W), (kh, kw), s, p, d, groups in itertools.product(
        ((5, 7), (12, 9)), ((1, 2), (3, 3), (4, 2)), range(1, 5), range(3), range(1, 4), (1, 2)
    ):
        if min(H + 2 * p - d * (kh - 1), W + 2 * p - d * (kw - 1)) < 1:
            continue
        x = torch.randn(2, 4, H, W, generator=g, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(6, 4 // groups, kh, kw, generator=g, dtype=torch.float64)
        y = F.conv2d(x, weight, stride=s, padding=p, dilation=d, groups=groups)
        grad_y = torch.randn(y.shape, generator=g, dtype=torch.float64)
        (autograd,) = torch.autograd.grad(y, x, grad_y)
        a = [
            n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
            for n, o, k in zip((H, W), y.shape[2:], (kh, kw))
        ]
        for n, k, ai in zip((H, W), (kh, kw), a):
            assert 0 <= ai < s and ai == (n + 2 * p - d * (k - 1) - 1) % s
        mine = F.conv_transpose2d(
            grad_y, weight, stride=s, padding=p, output_padding=a, groups=groups, dilation=d
        )
        assert torch.allclose(mine, autograd), (H, W, kh, kw, s, p, d, groups)


def test_the_gradient_of_unfold_and_multiply_is_multiply_and_fold():
    """[sec-gradient]
    > so the gradient of unfold-and-multiply is multiply-and-fold, the
    > col2im of {ref}`sec-col2im`.

    ``y = W @ unfold(x)`` over kernels, strides, padding and dilations: autograd's
    gradient with respect to ``x`` is ``fold(W.T @ grad_y)`` with the same parameters.
    """
    g = torch.Generator().manual_seed(0)
    for k, s, p, d in itertools.product(range(1, 4), range(1, 4), range(3), range(1, 3)):
        if 8 + 2 * p - d * (k - 1) < 1:
            continue
        x = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64, requires_grad=True)
        W = torch.randn(5, 3 * k * k, generator=g, dtype=torch.float64)
        y = W @ F.unfold(x, k, dilation=d, padding=p, stride=s)
        grad_y = torch.randn(y.shape, generator=g, dtype=torch.float64)
        (autograd,) = torch.autograd.grad(y, x, grad_y)
        mine = F.fold(W.T @ grad_y, (8, 8), k, dilation=d, padding=p, stride=s)
        assert torch.allclose(mine, autograd), (k, s, p, d)


def test_summary_recipes_col2im_gather_and_sizes():
    r"""[sec-transposed-summary]
    > col2im ({ref}`sec-col2im`): `cols = weight.view(C_in, -1).T @ x`, then `fold` to
    > $(\mathrm{in}-1)s + \mathrm{dil}(k-1) + 1$, crop `padding`, add `output_padding` at the
    > bottom/right.

    [sec-transposed-summary]
    > Gather ({ref}`sec-gather`): insert `stride - 1` zeros, pad $\mathrm{dil}(k-1) - p$ (crop
    > if negative) plus `output_padding` at the bottom/right, rotate the kernel 180 degrees,
    > swap in/out channels **within each group**, convolve with dilation `dil`.

    [sec-transposed-summary]
    > $\mathrm{out} = (\mathrm{in}-1)s - 2p + \mathrm{dil}(k-1) + \mathrm{output\_padding} + 1$;
    > $a = (\mathrm{in} + 2p - \mathrm{dil}(k-1) - 1) \bmod s$ restores a convolution's input size.

    Both recipes, written here from the summary's words, against ``F.conv_transpose2d``
    over sizes, kernels (not square), strides, padding, dilation, output_padding and
    groups (col2im with one group, as its formula is written); the size formula and
    ``a`` against torch's shapes.
    """
    g = torch.Generator().manual_seed(0)
    for n, (kh, kw), s, p, d, groups in itertools.product(
        (1, 4), ((1, 2), (3, 3), (4, 2)), range(1, 4), range(3), range(1, 3), (1, 2)
    ):
        for op in range(max(s, d)):
            out = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for k in (kh, kw)]
            if min(out) < 1:
                continue
            x = torch.randn(2, 4, n, n, generator=g, dtype=torch.float64)
            weight = torch.randn(4, 6 // groups, kh, kw, generator=g, dtype=torch.float64)
            kw_ = dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=d)
            ref = F.conv_transpose2d(x, weight, **kw_)
            assert list(ref.shape[2:]) == out
            # gather
            up = x.new_zeros(2, 4, (n - 1) * s + 1, (n - 1) * s + 1)
            up[:, :, ::s, ::s] = x
            qh, qw = d * (kh - 1) - p, d * (kw - 1) - p
            up = F.pad(up, (qw, qw + op, qh, qh + op))
            w = weight.view(groups, 4 // groups, 6 // groups, kh, kw).transpose(1, 2)
            w = torch.rot90(w.reshape(6, 4 // groups, kh, kw), 2, dims=[2, 3])
            assert torch.allclose(F.conv2d(up, w, dilation=d, groups=groups), ref)
            if groups == 1:  # col2im
                cols = weight.view(4, -1).T @ x.view(2, 4, n * n)
                full = [(n - 1) * s + d * (k - 1) + 1 for k in (kh, kw)]
                y = F.fold(cols, full, (kh, kw), dilation=d, stride=s)
                y = F.pad(y, (-p, op - p, -p, op - p))
                assert torch.allclose(y, ref), (n, kh, kw, s, p, d, op)
    for n, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if n + 2 * p - d * (k - 1) < 1:
            continue
        a = (n + 2 * p - d * (k - 1) - 1) % s
        y = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
        back = F.conv_transpose1d(
            y, torch.zeros(1, 1, k), stride=s, padding=p, output_padding=a, dilation=d
        )
        assert back.shape[-1] == n, (n, k, s, p, d)


def test_dot_product_test_weight_gradient_and_channel_roles():
    r"""[sec-gradient]
    > $C^\top$ is the transpose of $C$ in the sense that defines one, $\langle C x, y \rangle =
    > \langle x, C^\top y \rangle$ for every `x` and `y`

    [sec-gradient]
    > the primes name the
    > transposed convolution's own channels: its input channels `C_in'` are the convolution's
    > output channels `C_out`, and its outputs `C_out'` are the convolution's inputs.

    [sec-gradient]
    > with $Y = W\,\mathrm{unfold}(x)$,
    > $\partial L/\partial W = \partial L/\partial Y \cdot \mathrm{unfold}(x)^\top$, summed over
    > the batch and taken group by group.

    Over the grid of sizes, kernels, strides, paddings and dilations with groups 1 and 2
    (float64, random x, y, weight): the inner products agree with the restoring
    output_padding; the transposed convolution takes the conv's weight, C_out channels in
    and C_in out; the weight gradient from unfold equals torch.nn.grad.conv2d_weight and
    autograd's.
    """
    gen = torch.Generator().manual_seed(21)
    seen = 0
    for n, k, s, p, d, _ in _grid(ops=False):
        if d * (k - 1) + 1 > n + 2 * p or (n + k + s + p + d) % 3:
            continue  # a third of the grid is plenty
        for g in (1, 2):
            C_in, C_out = 2 * g, 3 * g
            x = torch.randn(2, C_in, n, n, dtype=torch.float64, generator=gen)
            w = torch.randn(C_out, C_in // g, k, k, dtype=torch.float64, generator=gen)
            y = F.conv2d(x, w, None, s, p, d, g)
            m = y.shape[-1]
            a = n - ((m - 1) * s - 2 * p + d * (k - 1) + 1)
            r = torch.randn_like(y)
            back = F.conv_transpose2d(r, w, None, s, p, a, g, d)
            assert back.shape == x.shape  # C_out in, C_in out
            torch.testing.assert_close((y * r).sum(), (x * back).sum())
            cols = F.unfold(x, k, d, p, s).view(2, g, C_in // g * k * k, m * m)
            gy = r.view(2, g, C_out // g, m * m)
            grad_w = (gy @ cols.transpose(2, 3)).sum(0).view(w.shape)
            ref = torch.nn.grad.conv2d_weight(x, w.shape, r, s, p, d, g)
            torch.testing.assert_close(grad_w, ref)
            seen += 1
    assert seen > 100


def test_the_input_gradient_of_a_strided_convolution_has_the_phases():
    """[sec-checkerboard]
    > a stride-2 convolution with a random 3 x 3 kernel, given the
    > same gradient at every output pixel, sends back a pattern of period 2

    [sec-checkerboard]
    > trace the checkerboard artifacts of generated images, and of the gradients of strided
    > convolutions, to these patterns

    50 random 3 x 3 kernels, strides 2 and 3, paddings 0 and 1, on 24 x 24: away from the
    border the input gradient of an all-ones output gradient repeats with period
    `stride` and is never constant; each phase's value is the sum of that phase's taps.
    """
    for seed, s, p in itertools.product(range(50), (2, 3), (0, 1)):
        gen = torch.Generator().manual_seed(seed)
        w = torch.randn(1, 1, 3, 3, dtype=torch.float64, generator=gen)
        x = torch.zeros(1, 1, 24, 24, dtype=torch.float64, requires_grad=True)
        y = F.conv2d(x, w, stride=s, padding=p)
        (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
        inner = g[0, 0, 3 : 3 + 4 * s, 3 : 3 + 4 * s]
        assert torch.allclose(inner[:s, :s].repeat(4, 4), inner)
        assert inner.max() - inner.min() > 1e-9
        for u, v in itertools.product(range(s), range(s)):
            i, j = 3 + u, 3 + v  # input pixel: taps t with (i + p - t) % s == 0
            taps = w[0, 0, [t for t in range(3) if (i + p - t) % s == 0]]
            want = taps[:, [t for t in range(3) if (j + p - t) % s == 0]].sum()
            torch.testing.assert_close(inner[u, v], want)
