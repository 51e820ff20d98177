"""The general sentences of Chapter 1, Sliding blocks (`unfold`), each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import re

import pytest
import torch
import torch.nn.functional as F
from claims_index import notebook_text

import convlab
from convlab import aten

# one spatial dimension, the grid: sizes up to 16, kernel up to 5,
# stride and dilation up to 4, padding up to 4
GRID_1D = [
    (n, k, s, p, d)
    for n, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    )
    if d * (k - 1) + 1 <= n + 2 * p
]


def _out(n, k, s, p, d):
    """The count of blocks along one dimension, as F.unfold returns it."""
    x = torch.zeros(1, 1, 1, n)
    return F.unfold(x, (1, k), (1, d), (0, p), (1, s)).shape[-1]


def _reads(n, k, s, p, d):
    """The padded positions each block reads, from F.unfold of the positions themselves
    (float: F.unfold takes no integers on the CPU); a list of sets, block by block."""
    pos = torch.arange(n + 2 * p, dtype=torch.float64).view(1, 1, 1, -1)
    cols = F.unfold(pos, (1, k), (1, d), (0, 0), (1, s))[0]  # (k, out), padded positions
    return [set(cols[:, b].long().tolist()) for b in range(cols.shape[1])]


def _grid_2d():
    """A 2-D grid: non-square sizes, kernels, strides, paddings and dilations."""
    for (h, w), (kh, kw), s, p, d in itertools.product(
        [(1, 1), (3, 7), (8, 5), (16, 16)],
        [(1, 1), (2, 3), (3, 3), (5, 2)],
        [(1, 1), (2, 3), (4, 4)],
        [(0, 0), (1, 2), (4, 4)],
        [(1, 1), (2, 1), (4, 3)],
    ):
        if all(d[i] * ((kh, kw)[i] - 1) + 1 <= (h, w)[i] + 2 * p[i] for i in range(2)):
            yield (h, w), (kh, kw), s, p, d


# --------------------------------------------------------------------------
# title and 1.1
# --------------------------------------------------------------------------
def test_a_convolution_is_one_matrix_multiplication_of_the_blocks():
    """[ch-unfold]
    > Once the blocks are columns, a convolution is a single matrix multiplication

    conv2d(x, weight) == (weight.view(C_out, -1) @ unfold(x)).view(...) over the 2-D
    grid, in float64, with 1 to 3 input channels and 1 to 2 output channels.
    """
    gen = torch.Generator().manual_seed(0)
    for (h, w), k, s, p, d in _grid_2d():
        for c_in, c_out in [(1, 1), (3, 2)]:
            x = torch.randn(2, c_in, h, w, dtype=torch.float64, generator=gen)
            weight = torch.randn(c_out, c_in, *k, dtype=torch.float64, generator=gen)
            ref = F.conv2d(x, weight, None, s, p, d)
            cols = F.unfold(x, k, d, p, s)
            out = (weight.view(c_out, -1) @ cols).view(2, c_out, *ref.shape[2:])
            assert torch.allclose(out, ref)


def test_each_column_is_one_window_read_row_by_row():
    """[sec-one-block]
    > `unfold` returns one column per position; each column holds the window's 4 values,
    > read row by row.

    [sec-one-block]
    > The rows are the kernel offsets `(i, j)` = `(0,0), (0,1), (1,0), (1,1)`,
    > and the columns run over the block positions row by row.

    On every image size from 2 x 2 to 16 x 16 (not only 4 x 4), column l of a 2 x 2
    unfold is the window at (l // W_out, l % W_out), flattened row by row.
    """
    for h, w in itertools.product(range(2, 17), range(2, 17)):
        x = torch.arange(float(h * w)).view(1, 1, h, w)
        cols = F.unfold(x, kernel_size=2)[0]
        w_out = w - 1
        assert cols.shape == (4, (h - 1) * w_out)
        for l in range(cols.shape[1]):
            r, c = divmod(l, w_out)
            assert torch.equal(cols[:, l], x[0, 0, r : r + 2, c : c + 2].reshape(4))


# --------------------------------------------------------------------------
# 1.2
# --------------------------------------------------------------------------
def test_the_block_grid_is_the_output_size_of_a_convolution():
    """[sec-four-parameters]
    > the **block grid**, one cell per block holding its column index `l` (its size
    > is the output size of a convolution with the same parameters)

    [sec-num-blocks]
    > The same formula gives a convolution's output size

    For every case of the 2-D grid, conv2d's output (H_out, W_out) has H_out * W_out
    = L, and each is the formula of 1.3; in 1-D over the whole 1-D grid.
    """
    for (h, w), k, s, p, d in _grid_2d():
        x = torch.zeros(1, 1, h, w)
        out = F.conv2d(x, torch.zeros(1, 1, *k), None, s, p, d).shape[2:]
        L = F.unfold(x, k, d, p, s).shape[-1]
        assert out[0] * out[1] == L
        assert tuple(out) == convlab.conv_output_shape((h, w), k, stride=s, padding=p, dilation=d)
    for n, k, s, p, d in GRID_1D:
        y = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), None, s, p, d)
        assert y.shape[-1] == _out(n, k, s, p, d) == (n + 2 * p - d * (k - 1) - 1) // s + 1


def test_neighbouring_blocks_share_pixels_exactly_when_stride_is_below_kernel_size():
    """[sec-stride]
    > Blocks still overlap here, because the stride is smaller than the
    > kernel: with `dilation=1`, two neighbouring blocks share pixels exactly when
    > `stride < kernel_size`.

    [sec-watch-blocks]
    > with `dilation=1`, neighbouring blocks share
    > pixels exactly when `stride < kernel_size`. With `stride` larger than `kernel_size`,
    > the pixels between two neighbouring blocks are read by no block.

    Over the 1-D grid with dilation 1 and at least two blocks: blocks b and b+1 (read
    from F.unfold of the positions) intersect iff s < k; if s > k, the positions
    between them are in no block.
    """
    tried = 0
    for n, k, s, p, d in GRID_1D:
        if d != 1:
            continue
        reads = _reads(n, k, s, p, d)
        every = set().union(*reads)
        for b in range(len(reads) - 1):
            tried += 1
            assert bool(reads[b] & reads[b + 1]) == (s < k), (n, k, s, p, b)
            if s > k:
                between = set(range(max(reads[b]) + 1, min(reads[b + 1])))
                assert between and not between & every
    assert tried > 1000


def test_padding_is_per_side():
    """[sec-padding]
    > PyTorch's `padding` is **per side**: `padding=1` adds a row of zeros at the top *and* one
    > at the bottom, and a column on each side

    unfold(x, padding=p) == unfold(F.pad(x, (pw, pw, ph, ph))) over the 2-D grid, with
    random values.
    """
    gen = torch.Generator().manual_seed(1)
    for (h, w), k, s, p, d in _grid_2d():
        x = torch.randn(1, 2, h, w, generator=gen)
        padded = F.pad(x, (p[1], p[1], p[0], p[0]))
        assert torch.equal(F.unfold(x, k, d, p, s), F.unfold(padded, k, d, 0, s))


def test_a_dilated_block_reads_k_values_over_a_span_of_d_k_minus_1_plus_1():
    """[sec-dilation]
    > A block still reads `kernel_size * kernel_size` values, but it spans
    > $\\mathrm{dil}\\,(k - 1) + 1$ pixels

    Over the 1-D grid: each block reads k distinct positions, from its start to its
    start + d(k - 1); with a square kernel in 2-D a column has k * k rows.
    """
    for n, k, s, p, d in GRID_1D:
        for b, reads in enumerate(_reads(n, k, s, p, d)):
            assert len(reads) == k
            assert min(reads) == b * s and max(reads) - min(reads) + 1 == d * (k - 1) + 1
    for k, d in itertools.product(range(1, 6), range(1, 5)):
        n = d * (k - 1) + 1
        assert F.unfold(torch.zeros(1, 1, n, n), k, dilation=d).shape == (1, k * k, 1)


# --------------------------------------------------------------------------
# 1.3
# --------------------------------------------------------------------------
def test_the_number_of_blocks_is_the_formula():
    """[sec-num-blocks]
    > Blocks start at $0, s, 2s, \\dots$ and the last start $t$ must leave room for
    > the span: $t + \\mathrm{dil}\\,(k - 1) \\le \\mathrm{in} + 2p - 1$.

    [sec-num-blocks]
    > \\mathrm{out} = \\left\\lfloor \\frac{\\mathrm{in} + 2p - \\mathrm{dil}\\,(k - 1) - 1}{s}
    > \\right\\rfloor + 1, \\qquad L = \\prod_i \\mathrm{out}_i .

    [sec-num-blocks]
    > `convlab.num_blocks` computes {eq}`eq-num-blocks`.

    Over the whole 1-D grid the count of F.unfold is the formula, the blocks start at
    0, s, 2s, ... and the last start is the last multiple of s that leaves room for the
    span; in 2-D over the 2-D grid L is the product of the two counts.
    """
    for n, k, s, p, d in GRID_1D:
        out = (n + 2 * p - d * (k - 1) - 1) // s + 1
        reads = _reads(n, k, s, p, d)
        assert _out(n, k, s, p, d) == out == len(reads)
        starts = [min(r) for r in reads]
        assert starts == [b * s for b in range(out)]
        fits = [t for t in range(0, n + 2 * p, s) if t + d * (k - 1) <= n + 2 * p - 1]
        assert starts == fits
    for (h, w), k, s, p, d in _grid_2d():
        L = F.unfold(torch.zeros(1, 1, h, w), k, d, p, s).shape[-1]
        assert L == _out(h, k[0], s[0], p[0], d[0]) * _out(w, k[1], s[1], p[1], d[1])
        assert L == convlab.num_blocks((h, w), k, stride=s, padding=p, dilation=d)


def test_the_floor_drops_the_remainder_after_the_last_span():
    """[sec-num-blocks]
    > The floor matters: the positions after the last block's span are read by no block,
    > and there are $(\\mathrm{in} + 2p - \\mathrm{dil}\\,(k - 1) - 1) \\bmod s$ of them

    [sec-unfold-summary]
    > the floor drops pixels that no block reaches.

    Over the 1-D grid: the positions after the last block's last tap are exactly the
    last (in + 2p - d(k-1) - 1) mod s positions, and no block reads them.
    """
    for n, k, s, p, d in GRID_1D:
        reads = _reads(n, k, s, p, d)
        every = set().union(*reads)
        after = set(range(max(reads[-1]) + 1, n + 2 * p))
        assert len(after) == (n + 2 * p - d * (k - 1) - 1) % s
        assert not after & every


def test_224_and_223_give_the_same_blocks_and_the_last_row_is_read_by_no_block():
    """[sec-num-blocks]
    > A 223 x 223 image gives the same 12100 blocks: no block of the 224 x 224 image reads
    > its last row or its last column of pixels (the floor drops them).

    The forum case (kernel 3, dilation 2, stride 2): both sizes give 110 x 110, and in
    the 224 image the divisor (how many blocks read each pixel) is 0 on row and column
    223 only where no other block reaches.
    """
    kw = dict(kernel_size=3, dilation=2, stride=2)
    for size in (223, 224):
        assert F.unfold(torch.zeros(1, 1, size, size), **kw).shape[-1] == 12100
    count = F.fold(F.unfold(torch.ones(1, 1, 224, 224), **kw), (224, 224), **kw)[0, 0]
    assert (count[223, :] == 0).all() and (count[:, 223] == 0).all()


def test_the_unfolded_matrix_tends_to_prod_k_over_prod_s_times_the_input():
    """[sec-num-blocks]
    > As the image
    > grows, this ratio tends to `prod(kernel_size) / prod(stride)`

    [sec-unfold-summary]
    > As the image grows, the unfolded matrix tends to `prod(kernel_size) / prod(stride)`
    > times the size of its input.

    [sec-num-blocks]
    > each
    > dimension has about $\\mathrm{in}/s$ blocks of $k$ values.

    Per dimension k * out / in -> k / s: for every k, s, p, d of the grid,
    |out * s / in - 1| <= (2p + d(k-1) + 2s) / in, a bound that goes to 0 as in grows;
    checked for in up to 4096, where the ratio is within a few percent.
    """
    for k, s, p, d in itertools.product(range(1, 6), range(1, 5), range(5), range(1, 5)):
        for n in (16, 64, 256, 1024, 4096):
            out = (n + 2 * p - d * (k - 1) - 1) // s + 1
            assert abs(out * s / n - 1) <= (2 * p + d * (k - 1) + 2 * s) / n
        out = (4096 + 2 * p - d * (k - 1) - 1) // s + 1
        assert abs(k * out / 4096 - k / s) < 0.03 * k / s
    # the chapter's case: the 2-D ratio 2.17 for 224, near 9 / 4
    x = torch.zeros(1, 1, 224, 224)
    cols = F.unfold(x, kernel_size=3, dilation=2, stride=2)
    assert round(cols.numel() / x.numel(), 2) == 2.17


def test_the_forum_size_formula_is_right_only_without_dilation():
    """[sec-num-blocks]
    > Its `nn.Unfold(kernel_size=conv.kernel_size, dilation=conv.dilation,
    > padding=conv.padding, stride=conv.stride)` is right for its layer: every parameter by
    > keyword, taken from the layer. It holds only while the layer pads with zeros and a number:
    > with `padding_mode='reflect'`, `'replicate'` or `'circular'` the layer pads with other
    > values (pad with `F.pad` in that mode first, then unfold with `padding=0`), and
    > `padding='same'` is a string `nn.Unfold` does not take.

    [sec-num-blocks]
    > it computes
    > `h_out = (h_in + 2 * padding - (kernel_size - 1) - 1) / stride + 1`, which is
    > {eq}`eq-num-blocks` without the dilation: right when `dilation=1`, and wrong exactly
    > when the extra span $(d-1)(k-1)$ exceeds $(h_{in} + 2p - k) \\bmod s$, so always when
    > it is a stride or more:

    [sec-num-blocks]
    > The post's
    > `int(... / stride + 1)` is harmless: `int` truncates toward zero, which is the floor
    > whenever a block fits.

    Over the 1-D grid: seed 002's formula equals F.unfold's count for every case with
    dilation 1, and differs from it exactly when (d - 1)(k - 1) > (n + 2p - k) mod s,
    so in every case where (d - 1)(k - 1) >= s (the
    dilation lengthens the span d(k-1)+1 by a stride or more; the old wording "right
    only while dilation=1" was false for kernel_size=1 and where the floor absorbs the
    extra span: those cases are counted below). int(m / s + 1) == m // s + 1 whenever
    m >= 0 (a block fits). The seed's nn.Unfold built from a Conv2d's attributes gives
    the conv's blocks.
    """

    def forum(n, k, s, p):
        return int((n + 2 * p - (k - 1) - 1) / s + 1)

    for n, k, s, p, d in GRID_1D:
        if d == 1:
            assert forum(n, k, s, p) == _out(n, k, s, p, d)
        wrong = (d - 1) * (k - 1) > (n + 2 * p - k) % s  # the exact rule
        assert (forum(n, k, s, p) != _out(n, k, s, p, d)) == wrong, (n, k, s, p, d)
        if (d - 1) * (k - 1) >= s:
            assert wrong
    # "only while dilation=1" would be false: dilated cases where it is right anyway
    right_anyway = [c for c in GRID_1D if c[4] > 1 and forum(*c[:4]) == _out(*c)]
    assert any(c[1] == 1 for c in right_anyway) and any(c[1] > 1 for c in right_anyway)
    for m, s in itertools.product(range(0, 2000), range(1, 5)):
        assert int(m / s + 1) == m // s + 1
    for m, s in itertools.product([10**6, 10**6 + 1, 10**6 - 1], range(1, 5)):
        assert int(m / s + 1) == m // s + 1
    conv = torch.nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 3))
    unfold = torch.nn.Unfold(
        kernel_size=conv.kernel_size,
        dilation=conv.dilation,
        padding=conv.padding,
        stride=conv.stride,
    )
    x = torch.randn(1, 2, 11, 9)
    out = conv(x)
    assert unfold(x).shape[-1] == out.shape[2] * out.shape[3]
    # the same recipe on every padding mode: the values are right only with zeros,
    # and right for every mode after F.pad in that mode and padding=0
    for mode in ("zeros", "reflect", "replicate", "circular"):
        conv = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode, bias=False)
        recipe = torch.nn.Unfold(
            kernel_size=conv.kernel_size,
            dilation=conv.dilation,
            padding=conv.padding,
            stride=conv.stride,
        )
        with torch.no_grad():
            want = conv(x).flatten(2)
            got = conv.weight.view(3, -1) @ recipe(x)
            padded = x if mode == "zeros" else F.pad(x, (1, 1, 1, 1), mode=mode)
            fixed = conv.weight.view(3, -1) @ F.unfold(
                padded, 3, padding=1 if mode == "zeros" else 0
            )
        assert torch.allclose(got, want, atol=1e-5) == (mode == "zeros"), mode
        assert torch.allclose(fixed, want, atol=1e-5), mode
    same = torch.nn.Conv2d(2, 3, 3, padding="same")
    with pytest.raises(TypeError):
        torch.nn.Unfold(kernel_size=3, padding=same.padding)(x)


def test_a_block_that_does_not_fit_is_an_error_in_torch_and_in_convlab():
    """[sec-num-blocks]
    > When a block does not fit at all, `F.unfold` says the shape "must be at least one";
    > `convlab` names the parameter, its value and the rule:

    Every 1-D case where d(k-1)+1 > in + 2p (sizes up to 16, kernel up to 5, ...), as
    an image of height 1 and as a square image: F.unfold raises a RuntimeError with
    "must be at least one"; convlab.unfold a ValueError naming kernel_size=k, the
    dilation and the rule "a block must fit inside the padded input".
    """
    tried = 0
    for n, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if d * (k - 1) + 1 <= n + 2 * p:
            continue
        tried += 1
        x = torch.zeros(1, 1, n, n)
        with pytest.raises(RuntimeError, match="must be at least one"):
            F.unfold(x, k, d, p, s)
        with pytest.raises(ValueError, match=rf"kernel_size={k} with dilation={d} spans") as err:
            convlab.unfold(x, k, d, p, s)
        assert "a block must fit inside the padded input" in str(err.value)
    assert tried > 100


def test_the_argument_orders_differ_between_F_unfold_and_F_conv2d():
    """[sec-num-blocks]
    > `F.unfold` orders its parameters
    > `kernel_size, dilation, padding, stride` and `F.conv2d` orders them `stride, padding,
    > dilation`, so convlab's shape helpers take everything after `kernel_size` by keyword:
    > the order cannot bite.

    Positional calls with three different values agree with keyword calls in the stated
    order (and not in the other), on a grid; convlab's shape helpers reject a
    positional third argument.
    """
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 1, 16, 16, generator=gen)
    w = torch.randn(1, 1, 3, 3, generator=gen)
    for a, b, c in itertools.permutations((1, 2, 3)):
        # unfold: kernel_size, dilation, padding, stride
        assert torch.equal(F.unfold(x, 3, a, b, c), F.unfold(x, 3, dilation=a, padding=b, stride=c))
        # conv2d: weight, bias, stride, padding, dilation
        assert torch.equal(
            F.conv2d(x, w, None, a, b, c), F.conv2d(x, w, stride=a, padding=b, dilation=c)
        )
    assert F.unfold(x, 3, 1, 2, 3).shape != F.unfold(x, 3, stride=1, padding=2, dilation=3).shape
    for helper in (convlab.num_blocks, convlab.conv_output_shape):
        with pytest.raises(TypeError):
            helper((16, 16), 3, 2)


# --------------------------------------------------------------------------
# 1.4
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8])
def test_F_unfold_refuses_integer_dtypes_on_the_cpu(dtype):
    """[sec-reading-matrix]
    > `F.unfold` refuses integer dtypes on the CPU (it takes `bool`,
    > floating-point and complex tensors):

    [sec-unfold-summary]
    > on the CPU it takes `bool`, floating-point
    > (`float16` and `bfloat16` included) and complex tensors and refuses integer dtypes;

    Every integer dtype, on several shapes and parameters: NotImplementedError from
    im2col; convlab gives the float64 result cast back.
    """
    for (h, w), k, s, p, d in list(_grid_2d())[::7]:
        x = torch.arange(2 * h * w).view(1, 2, h, w).to(dtype)
        with pytest.raises(NotImplementedError, match="im2col_out_cpu"):
            F.unfold(x, k, d, p, s)
        with pytest.raises(NotImplementedError, match="col2im_out_cpu"):
            F.fold(torch.zeros(1, 4, 4, dtype=dtype), (3, 3), 2)
        ref = F.unfold(x.double(), k, d, p, s).to(dtype)
        assert torch.equal(convlab.unfold(x, k, d, p, s), ref)


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.bool,
        torch.complex64,
        torch.complex128,
    ],
)
def test_F_unfold_takes_floats_complex_and_bool(dtype):
    """[sec-unfold-summary]
    > `F.unfold` wants 3-D or 4-D input; on the CPU it takes `bool`, floating-point
    > (`float16` and `bfloat16` included) and complex tensors

    ...and refuses only integers: floating point, complex and bool go through unfold
    and fold (the sentence names integers, not every non-float dtype).
    """
    x = (torch.arange(50).view(1, 2, 5, 5) % 3 == 0).to(dtype)
    assert torch.equal(F.unfold(x, 2), convlab.unfold(x, 2))
    assert F.fold(F.unfold(x, 2), (5, 5), 2).dtype == dtype


def test_convlab_unfold_is_views_and_takes_any_dtype():
    """[sec-reading-matrix]
    > `convlab.unfold` is written from tensor views (`F.pad`, `Tensor.unfold`, `reshape`), so
    > it takes any dtype.

    [sec-unfold-summary]
    > `convlab.unfold` takes the same shapes in any dtype

    The aten ops it dispatches on an ordinary case are a pad, `unfold` (Tensor.unfold)
    and copies, never im2col; every dtype torch has on the CPU (bool, integers, floats,
    complex) gives F.unfold's values (computed in float64 or complex128).
    """
    x = torch.randn(2, 3, 7, 6)
    with aten.record_aten_ops() as ops:
        convlab.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    assert "unfold" in ops and "constant_pad_nd" in ops and "im2col" not in ops
    dtypes = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
    dtypes += [torch.float16, torch.bfloat16, torch.float32, torch.float64]
    dtypes += [torch.complex64, torch.complex128]
    for dtype in dtypes:
        x = (torch.arange(2 * 6 * 5).view(1, 2, 6, 5) % 7).to(dtype)
        wide = torch.complex128 if dtype.is_complex else torch.float64
        ref = F.unfold(x.to(wide), 3, 2, 1, 1).to(dtype)
        assert torch.equal(convlab.unfold(x, 3, 2, 1, 1), ref), dtype


def test_every_entry_of_the_unfolded_matrix_is_the_formula():
    """[sec-reading-matrix]
    > Rows are **channel-major** `(c, i, j)`: first all kernel offsets of channel 0

    [sec-reading-matrix]
    > \\mathrm{cols}[n,\\; cK + i\\,k_W + j,\\; o_h W_\\mathrm{out} + o_w]
    > = x_\\mathrm{padded}[n,\\; c,\\; o_h s_H + i\\,\\mathrm{dil}_H,\\;
    > o_w s_W + j\\,\\mathrm{dil}_W].

    [sec-unfold-summary]
    > `(N, C, H, W)` becomes `(N, C * prod(kernel_size), L)`, rows channel-major
    > `(c, i, j)`, columns the block positions row by row.

    Every entry, every case of the 2-D grid, 2 images of 3 channels, random values.
    """
    gen = torch.Generator().manual_seed(3)
    for (h, w), (kh, kw), s, p, d in _grid_2d():
        x = torch.randn(2, 3, h, w, generator=gen)
        cols = F.unfold(x, (kh, kw), d, p, s)
        xp = F.pad(x, (p[1], p[1], p[0], p[0]))
        oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
        ow = (w + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
        assert cols.shape == (2, 3 * kh * kw, oh * ow)
        for c, i, j in itertools.product(range(3), range(kh), range(kw)):
            rows = xp[:, c, i * d[0] :: s[0], j * d[1] :: s[1]][:, :oh, :ow]
            assert torch.equal(cols[:, c * kh * kw + i * kw + j], rows.reshape(2, -1))


# --------------------------------------------------------------------------
# 1.5
# --------------------------------------------------------------------------
def test_every_parameter_may_be_a_pair():
    """[sec-non-square]
    > Every parameter may be a pair `(height, width)`:

    Every one of the four parameters given as a pair with two different entries equals
    the same call with the pair spelled out per dimension (unfold of the transposed
    image with the pair reversed).
    """
    gen = torch.Generator().manual_seed(4)
    for (h, w), k, s, p, d in _grid_2d():
        x = torch.randn(1, 2, h, w, generator=gen)
        cols = F.unfold(x, k, d, p, s)
        t = F.unfold(x.transpose(2, 3), k[::-1], d[::-1], p[::-1], s[::-1])
        oh, ow = convlab.conv_output_shape((h, w), k, stride=s, padding=p, dilation=d)
        kh, kw = k
        a = cols.view(1, 2, kh, kw, oh, ow)
        b = t.view(1, 2, kw, kh, ow, oh).permute(0, 1, 3, 2, 5, 4)
        assert torch.equal(a, b)


def test_an_unbatched_image_is_a_batch_of_one():
    """[sec-unbatched]
    > `F.unfold` also takes a 3-D `(C, H, W)` tensor and returns `(C * prod(k), L)`, the same
    > as with a batch of one:

    Over the 2-D grid with 1 to 3 channels.
    """
    gen = torch.Generator().manual_seed(5)
    for (h, w), k, s, p, d in _grid_2d():
        x = torch.randn(3, h, w, generator=gen)
        cols = F.unfold(x, k, d, p, s)
        assert cols.shape == (3 * k[0] * k[1], cols.shape[-1])
        assert torch.equal(cols, F.unfold(x[None], k, d, p, s)[0])


@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5, 6])
def test_F_unfold_wants_3d_or_4d_input_and_convlab_takes_the_same_shapes(rank):
    """[sec-1d-3d]
    > `F.unfold` handles images only; it rejects a 5-D volume:

    [sec-1d-3d]
    > `convlab.unfold` takes exactly the shapes `F.unfold` takes;

    [sec-unfold-summary]
    > `F.unfold` wants 3-D or 4-D input

    [sec-unfold-docstring]
    > Too
    > strict: a 3-D `(C, H, W)` tensor runs too ({ref}`sec-unbatched`), and only 5-D and
    > larger or 2-D and smaller are refused ({ref}`sec-1d-3d`).

    Ranks 1 to 6, each dimension 3: torch raises for ranks other than 3 and 4 and
    convlab raises (ValueError) exactly there.
    """
    x = torch.randn((3,) * rank)
    try:
        F.unfold(x, 2)
        torch_ok = True
    except (RuntimeError, IndexError):
        torch_ok = False
    try:
        convlab.unfold(x, 2)
        ours_ok = True
    except ValueError:
        ours_ok = False
    assert torch_ok == ours_ok == (rank in (3, 4))


def test_a_signal_is_an_image_of_height_one():
    """[sec-1d-3d]
    > A 1-D signal is the same as an image of height 1:

    Over the whole 1-D grid, batched: unfold1d equals F.unfold of x[:, :, None] with
    (1, k) kernels; the unbatched (C, W) signal too.
    """
    gen = torch.Generator().manual_seed(6)
    for n, k, s, p, d in GRID_1D[::3]:
        x = torch.randn(2, 3, n, generator=gen)  # (N, C, W)
        ref = F.unfold(x[:, :, None], (1, k), (1, d), (0, p), (1, s))
        assert torch.equal(convlab.unfold1d(x, k, d, p, s), ref)
        assert torch.equal(convlab.unfold1d(x[0], k, d, p, s), ref[0])


def test_a_length_chosen_rank_would_read_a_batch_of_images_as_a_volume():
    """[sec-1d-3d]
    > If a parameter's length chose the number of dimensions, a
    > typo would silently reread the input: with three entries in `padding`, a batch of two
    > 4-channel images `(2, 4, 9, 8)` would become one volume `(C, D, H, W)` with 2 channels
    > of 4 x 9 x 8.

    That is exactly what unfold3d does with it (one unbatched volume of 2 channels,
    4 x 9 x 8 blocks), while convlab.unfold refuses the 3 entries.
    """
    x = torch.randn(2, 4, 9, 8)
    volume = convlab.unfold3d(x, 3, padding=(1, 1, 1))
    assert volume.shape == (2 * 27, 4 * 9 * 8)  # C = 2 channels, L = D*H*W blocks
    with pytest.raises(ValueError, match=r"padding=.*has 3 entries"):
        convlab.unfold(x, 3, padding=(1, 1, 1))


@pytest.mark.parametrize("name", ["kernel_size", "dilation", "padding", "stride"])
def test_a_tuple_of_the_wrong_length_is_an_error_that_names_it(name):
    """[sec-1d-3d]
    > A tuple of the wrong length is an error that names it:

    [sec-unfold-summary]
    > No parameter's length changes how an
    > input is read.

    Every parameter of unfold, unfold1d and unfold3d, with tuples of every length 0 to 5
    other than the op's rank and 1: a ValueError that names the parameter and its
    value; a tuple of one is repeated.
    """
    for fn, rank in [(convlab.unfold, 2), (convlab.unfold1d, 1), (convlab.unfold3d, 3)]:
        x = torch.randn(2, 2, *(7,) * rank)
        base = dict(kernel_size=2, dilation=1, padding=0, stride=1)
        for length in range(6):
            if length in (1, rank):
                continue
            value = (1,) * length
            with pytest.raises(ValueError, match=re.escape(f"{name}={value!r}")) as e:
                fn(x, **{**base, name: value})
            assert f"has {length} entries" in str(e.value)
        one = (2,) if name in ("kernel_size", "dilation", "stride") else (1,)
        assert torch.equal(fn(x, **{**base, name: one}), fn(x, **{**base, name: one[0]})), (
            fn,
            name,
        )


@pytest.mark.parametrize("module", [False, True])
def test_torch_refuses_a_tuple_of_one_that_its_docstring_promises(module):
    """[sec-1d-3d]
    > The `nn.Unfold` docstring promises that a tuple of one entry is repeated for every
    > dimension. In torch 2.13 `nn.Unfold`, `F.unfold` and `F.fold` refuse it, while
    > `F.conv2d` and `F.conv_transpose2d` repeat it:

    [sec-unfold-docstring]
    > Not a tuple of length 1:
    > `nn.Unfold`, `F.unfold` and `F.fold` refuse it, although `F.conv2d` repeats one

    Each of the four parameters as a tuple of one, through nn.Unfold, F.unfold and
    F.fold: a RuntimeError; the docstring does promise it; convlab repeats it; conv2d
    and conv_transpose2d (stride, padding, dilation, output_padding) give what the int
    gives.
    """
    assert "tuple of length 1" in torch.nn.Unfold.__doc__
    assert "replicated" in torch.nn.Unfold.__doc__
    x = torch.randn(2, 3, 6, 7)
    for name in ("kernel_size", "dilation", "padding", "stride"):
        kw = dict(kernel_size=3, dilation=1, padding=0, stride=1)
        kw[name] = (kw[name],)
        with pytest.raises(RuntimeError, match=f"expected {name} equals to 2"):
            torch.nn.Unfold(**kw)(x) if module else F.unfold(x, **kw)
        plain = {k: v[0] if isinstance(v, tuple) else v for k, v in kw.items()}
        assert torch.equal(convlab.unfold(x, **kw), F.unfold(x, **plain))
        cols = F.unfold(x, **plain)
        with pytest.raises(RuntimeError, match=f"expected {name} equals to 2"):
            F.fold(cols, (6, 7), **kw)
    weight = torch.randn(4, 3, 3, 3)
    for name, value in (("stride", 2), ("padding", 1), ("dilation", 2)):
        for f in (F.conv2d, F.conv_transpose2d):
            w = weight if f is F.conv2d else weight.transpose(0, 1)
            assert torch.equal(f(x, w, **{name: (value,)}), f(x, w, **{name: value}))
    op = dict(stride=3, output_padding=(1,))
    assert torch.equal(
        F.conv_transpose2d(x, weight.transpose(0, 1), **op),
        F.conv_transpose2d(x, weight.transpose(0, 1), stride=3, output_padding=1),
    )


def test_F_unfold_reads_a_batch_of_signals_as_one_image():
    """[sec-1d-3d]
    > The rank itself can still mislead, in torch too: a batch of signals `(N, C, W)` has
    > three dimensions, so `F.unfold` reads it as one unbatched image `(C, H, W)`. When the
    > kernel then does not fit, convlab's error says so and points to `unfold1d`:

    For batches of 1 to 6 signals: with a (1, k) kernel F.unfold returns (N*k, C*out),
    the batch read as channels; with a k x k kernel that does not fit in C rows both
    raise, and convlab's error points to unfold1d.
    """
    for N, C, W in itertools.product(range(1, 7), (2, 3), (10, 16)):
        signals = torch.randn(N, C, W)
        assert F.unfold(signals, (1, 3)).shape == (N * 3, C * (W - 2))  # (C*K, L)
        with pytest.raises(RuntimeError):
            F.unfold(signals, C + 1)
        with pytest.raises(ValueError, match=r"unbatched \(C, H, W\) image.*unfold1d"):
            convlab.unfold(signals, C + 1)


def test_what_the_nn_Unfold_docstring_says_about_the_shapes():
    """[sec-unfold-docstring]
    > "Input: $(N, C, *)$", "Output: $(N, C \\times \\prod(\\text{kernel\\_size}), L)$", with
    > $L$ the product over the spatial dimensions of {eq}`eq-num-blocks`. The output shape
    > and $L$ are right (the docstring puts the $+1$ inside the floor, which gives the same
    > integer); the `*` is not any number of dimensions: exactly two.

    The docstring states both shapes; over the 2-D grid, with 1 to 3 channels, nn.Unfold
    returns (N, C * prod(k), L); a batch with one spatial dimension is misread, three are
    refused.
    """
    doc = " ".join(torch.nn.Unfold.__doc__.split())
    assert r"Input: :math:`(N, C, *)`" in doc
    assert r"Output: :math:`(N, C \times \prod(\text{kernel\_size}), L)`" in doc
    assert r"{\text{stride}[d]} + 1\right\rfloor" in doc  # the +1 inside the floor
    for m, s in itertools.product(range(-20, 200), range(1, 5)):
        assert (m + s) // s == m // s + 1  # floor(m/s + 1) == floor(m/s) + 1
    for (h, w), k, s, p, d in _grid_2d():
        for C in (1, 3):
            cols = torch.nn.Unfold(k, d, p, s)(torch.zeros(2, C, h, w))
            L = convlab.num_blocks((h, w), k, stride=s, padding=p, dilation=d)
            assert cols.shape == (2, C * k[0] * k[1], L)
    # one spatial dimension: (N, C, W) runs, but as one (C, H, W) image, not a batch
    assert torch.nn.Unfold((1, 2))(torch.zeros(2, 3, 5)).shape == (2 * 2, 3 * 4)
    with pytest.raises(RuntimeError):  # three spatial dimensions
        torch.nn.Unfold(2)(torch.zeros(2, 3, 4, 5, 6))


def test_the_docstring_warns_only_4d_but_3d_runs():
    """[sec-unfold-docstring]
    > "Currently, only 4-D input tensors (batched image-like tensors) are supported."

    The warning is in the docstring, and a 3-D input runs through nn.Unfold (the
    rank test above tries every rank).
    """
    doc = " ".join(torch.nn.Unfold.__doc__.split())
    assert "Currently, only 4-D input tensors (batched image-like tensors) are supported." in doc
    assert torch.nn.Unfold(2)(torch.zeros(3, 4, 5)).shape == (12, 12)


def test_the_docstring_padding_is_per_side():
    """[sec-unfold-docstring]
    > "padding controls the amount of implicit zero-paddings on both sides": per side, as in
    > {ref}`sec-padding`.

    The docstring says "on both sides"; padding p gives in + 2p positions per dimension
    (test_padding_is_per_side tries the values).
    """
    doc = " ".join(torch.nn.Unfold.__doc__.split())
    assert "controls the amount of implicit zero-paddings on both sides" in doc
    for n, p in itertools.product(range(1, 17), range(5)):
        assert _out(n, 1, 1, p, 1) == n + 2 * p


def test_a_column_holds_channels_of_taps_not_taps_of_channels():
    """[sec-unfold-docstring]
    > Its example says "each patch contains 30 values (2x3=6 vectors, each of 5 channels)".
    > The count is right, the picture is not: a column holds 5 channels of 6 values each,
    > channel-major ({ref}`sec-reading-matrix`), not 6 vectors of 5 channels. The same goes
    > for its "a block has $\\prod(\\text{kernel\\_size})$ spatial locations each containing a
    > $C$-channeled vector": right as a count, not as the order of a column.

    [sec-unfold-docstring]
    > So `cols.view(N, 5, 6, L)` splits a column into
    > its channels, and `cols.view(N, 6, 5, L)`, the "6 vectors of 5 channels", mixes taps and
    > channels.

    [sec-unfold-docstring]
    > The example's other comment, "4 blocks (2x3 kernels) in total in the 3x4
    > input", is {eq}`eq-num-blocks`

    The docstring's comment is there; for 1 to 6 channels and several kernels,
    cols.view(N, C, K, L)[:, c] is the unfold of channel c alone, while
    cols.view(N, K, C, L) is not (for C, K > 1); the example's shape is (2, 30, 4).
    """
    doc = " ".join(torch.nn.Unfold.__doc__.split())
    assert "each patch contains 30 values (2x3=6 vectors, each of 5 channels)" in doc
    assert "4 blocks (2x3 kernels) in total in the 3x4 input" in doc
    assert "spatial locations each containing a :math:`C`-channeled vector" in doc
    gen = torch.Generator().manual_seed(7)
    for C, k in itertools.product(range(1, 7), [(2, 3), (3, 3), (1, 2)]):
        x = torch.randn(2, C, 5, 6, generator=gen)
        cols = torch.nn.Unfold(kernel_size=k)(x)
        K, L = k[0] * k[1], cols.shape[-1]
        for c in range(C):
            assert torch.equal(cols.view(2, C, K, L)[:, c], F.unfold(x[:, c : c + 1], k))
        if C > 1 and K > 1:
            alone = torch.stack([F.unfold(x[:, c : c + 1], k) for c in range(C)], 1)
            assert not torch.equal(cols.view(2, K, C, L).transpose(1, 2), alone)
    assert torch.nn.Unfold(kernel_size=(2, 3))(torch.randn(2, 5, 3, 4)).shape == (2, 30, 4)


def test_tensor_unfold_is_a_one_dimensional_view_and_F_unfold_a_copy():
    """[sec-tensor-unfold]
    > `x.unfold(dim, size, step)` works on **one** dimension and returns a **view**: no copy,
    > the windows share memory with `x`, and they appear as a new last dimension.
    > `F.unfold` works on **all** spatial dimensions, returns a **copy**, and lays each block
    > out as a channel-major column.

    [sec-unfold-summary]
    > `Tensor.unfold` is a one-dimensional view, `F.unfold` a copy.

    For every dim of a 4-D tensor and sizes/steps up to 5: Tensor.unfold's result shares
    x's storage, has one more dimension (the window, last) and only dim shrinks;
    writing into x shows through it. F.unfold's result has its own storage.
    """
    x = torch.arange(2 * 3 * 7 * 8.0).view(2, 3, 7, 8)
    for dim, size, step in itertools.product(range(4), range(1, 6), range(1, 6)):
        if size > x.shape[dim]:
            continue
        win = x.unfold(dim, size, step)
        assert win.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        shape = list(x.shape)
        shape[dim] = (x.shape[dim] - size) // step + 1
        assert tuple(win.shape) == (*shape, size)
        for i in range(size):
            idx = [slice(None)] * 4
            idx[dim] = slice(i, i + step * (shape[dim] - 1) + 1, step)
            assert torch.equal(win[..., i], x[tuple(idx)])
    y = x.clone()
    win = y.unfold(3, 2, 1)
    y[0, 0, 0, 1] = -1.0
    assert win[0, 0, 0, 0, 1] == -1.0 and win[0, 0, 0, 1, 0] == -1.0
    cols = F.unfold(y, 2)
    assert cols.untyped_storage().data_ptr() != y.untyped_storage().data_ptr()


def test_convlab_unfold_gathers_taps_when_the_zeros_would_dwarf_the_image():
    """[sec-tensor-unfold]
    > This is how `convlab.unfold` works, with `F.pad`
    > first and every `dilation`-th element of each window (and one exception: where the
    > padded zeros would dwarf the image, as with `dilation=8000, padding=4000` on a 5 x 5
    > image, it gathers just the taps the blocks read instead):

    The ordinary case dispatches a pad and `unfold` (Tensor.unfold); the huge-padding
    case allocates no padded image (no constant_pad_nd) and still equals F.unfold.
    """
    x = torch.randn(1, 2, 5, 5)
    with aten.record_aten_ops() as ops:
        convlab.unfold(x, 3, dilation=2, padding=1)
    assert {"constant_pad_nd", "unfold"} <= ops
    with aten.record_aten_ops() as ops:
        cols = convlab.unfold(x, 2, dilation=8000, padding=4000)
    assert "constant_pad_nd" not in ops and "unfold" not in ops
    assert torch.equal(cols, F.unfold(x, 2, dilation=8000, padding=4000))


def test_a_view_reads_element_a_b_at_offset_plus_a_stride0_plus_b_stride1():
    """[sec-strides]
    > A tensor is a flat row of
    > numbers in memory plus, for each dimension, a **stride**: how many elements to skip to
    > take one step along that dimension.

    [sec-strides]
    > Element `[a, b, ...]` of a tensor sits at `x.storage_offset() + a * stride[0] +
    > b * stride[1] + ...` in memory, so two dimensions with steps through the same memory
    > give overlapping windows. `torch.as_strided(x, size, stride)` builds such a view: `size`
    > is its shape, `stride` the step of each of its dimensions.

    Random as_strided views (offsets 0-3, sizes 1-4, strides 0-4, 1 to 3 dimensions) of a
    storage of 64 numbers, and views made by slicing, transposing, unfolding: every
    element is the storage at the stated address.
    """
    import random

    rng = random.Random(8)
    base = torch.arange(64.0)
    for _ in range(500):
        rank = rng.randint(1, 3)
        size = [rng.randint(1, 4) for _ in range(rank)]
        stride = [rng.randint(0, 4) for _ in range(rank)]
        offset = rng.randint(0, 3)
        v = torch.as_strided(base, size, stride, offset)
        assert list(v.shape) == size and list(v.stride()) == stride
        for idx in itertools.product(*(range(n) for n in size)):
            assert v[idx] == base[offset + sum(i * s for i, s in zip(idx, stride))]
    x = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)
    for view in (x[:, 1:, ::2], x.transpose(1, 3), x.unfold(3, 2, 1), x[1, :, 2]):
        flat = view.untyped_storage()
        assert flat.data_ptr() == x.untyped_storage().data_ptr()
        for idx in itertools.product(*(range(n) for n in view.shape)):
            addr = view.storage_offset() + sum(i * s for i, s in zip(idx, view.stride()))
            assert view[idx] == x.view(-1)[addr]


def test_as_strided_steps_are_unfolds_stride_and_dilation():
    """[sec-strides]
    > With
    > `stride=(2, 1)` the windows start two elements apart (`unfold`'s `stride=2`); with
    > `stride=(1, 2)` a window reads every second element (`unfold`'s `dilation=2`).

    For rows of 1 to 16 numbers and windows of 1 to 5: as_strided with strides (s, d)
    is unfold1d with that stride and dilation (its transpose), for s, d up to 4.
    """
    for n, k, s, d in itertools.product(range(1, 17), range(1, 6), range(1, 5), range(1, 5)):
        if d * (k - 1) + 1 > n:
            continue
        row = torch.arange(float(n))
        out = (n - d * (k - 1) - 1) // s + 1
        win = torch.as_strided(row, size=(out, k), stride=(s, d))
        assert torch.equal(win.T, convlab.unfold1d(row.view(1, 1, n), k, d, 0, s)[0])


# --------------------------------------------------------------------------
# 1.6 and the dilation explorer
# --------------------------------------------------------------------------
def test_the_explorers_grid_is_what_the_page_says():
    """[sec-watch-blocks]
    > On this page the sliders cover input sizes 5 and 7, `kernel_size`
    > 1-4, `stride` 1-3, `padding` 0-2 and `dilation` 1-3

    The grid the static page precomputes.
    """
    from convlab import widgets

    assert widgets.SlidingBlocks.grid == {
        "input_size": [5, 7],
        "kernel_size": [1, 2, 3, 4],
        "stride": [1, 2, 3],
        "padding": [0, 1, 2],
        "dilation": [1, 2, 3],
    }


def test_padding_keeps_the_grid_as_large_as_the_input_exactly_when_2p_is_the_dilated_span():
    """[sec-watch-blocks]
    > with `stride=1`, {eq}`eq-num-blocks` gives
    > $\\mathrm{out} = \\mathrm{in} + 2p - \\mathrm{dil}\\,(k - 1)$, which is $\\mathrm{in}$
    > exactly when $2p = \\mathrm{dil}\\,(k - 1)$. For an even `kernel_size` with
    > `dilation=1` no padding per side does it: the grid is always one smaller or at least
    > one larger than the input.

    [sec-padding]
    > The
    > blocks then also start on the zeros: a 4 x 4 image gives 4 x 4 blocks of 3 x 3
    > ({ref}`Fig. 3 <fig-padding>`), a 5 x 5 image 5 x 5 of them.

    Over the 1-D grid with stride 1: out == in + 2p - d(k-1), and out == in iff
    2p == d(k-1); for even k and d = 1, |out - in| >= 1 for every p, and some p gives
    out == in - 1 (p = (k-2)/2) or out == in + 1 (p = k/2).
    """
    for n, k, s, p, d in GRID_1D:
        if s != 1:
            continue
        out = _out(n, k, s, p, d)
        assert out == n + 2 * p - d * (k - 1)
        assert (out == n) == (2 * p == d * (k - 1))
    for n in (4, 5):
        assert F.unfold(torch.zeros(1, 1, n, n), 3, padding=1).shape == (1, 9, n * n)
    for n, k in itertools.product(range(4, 17), (2, 4)):
        outs = {p: _out(n, k, 1, p, 1) for p in range(5)}
        assert all(o != n for o in outs.values())
        assert outs[(k - 2) // 2] == n - 1 and outs[k // 2] == n + 1


def test_dilation_4_on_9x9_gives_one_block_of_9_values():
    """[sec-dilation]
    > A 3 x 3 kernel with `dilation=4` spans $4 \\cdot (3 - 1) + 1 = 9$ pixels per side, the whole
    > 9 x 9 input, so exactly one block fits ($L = 1$, the last frame). It still reads only 9
    > values: the corners, the middles of the edges and the centre.
    """
    x = torch.arange(81.0).view(1, 1, 9, 9)
    cols = F.unfold(x, 3, dilation=4)
    assert cols.shape == (1, 9, 1)
    assert sorted(cols.flatten().long().tolist()) == [0, 4, 8, 36, 40, 44, 72, 76, 80]


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5, 7, 12, 16])
def test_block_count_is_a_product_of_floor_plus_one(n):
    """[sec-unfold-summary]
    > $L = \\prod_i \\left( \\lfloor (\\mathrm{in}_i + 2p_i - \\mathrm{dil}_i(k_i-1) - 1)/s_i
    > \\rfloor + 1 \\right)$;

    The +1 belongs to each factor: read as (product of floors) + 1 it is wrong (11882
    for the forum's 224 x 224 case, not 12100). The old wording
    "$L = \\prod_i \\lfloor\\cdot\\rfloor + 1$" fails the product check below.
    """
    assert r"L = \prod_i \left( \lfloor" in notebook_text("01_sliding_blocks.ipynb")
    for kh, kw, s, p, d in itertools.product((1, 2, 3, 5), (1, 3), (1, 2, 4), (0, 1, 4), (1, 2)):
        h, w = n, n + 3
        try:
            L = F.unfold(torch.zeros(1, 1, h, w), (kh, kw), d, p, s).shape[-1]
        except RuntimeError:
            continue
        floors = [(h + 2 * p - d * (kh - 1) - 1) // s, (w + 2 * p - d * (kw - 1) - 1) // s]
        assert L == (floors[0] + 1) * (floors[1] + 1)
    forum = (224 + 0 - 2 * 2 - 1) // 2
    assert (forum + 1) ** 2 == 12100 and forum**2 + 1 == 11882


def test_the_four_parameters_do_what_the_summary_says():
    """[sec-unfold-summary]
    > `kernel_size` sets the block, `stride` the step, `padding` the zeros **per side**, and
    > `dilation` the gaps between taps (span $\\mathrm{dil}(k-1)+1$).

    Over the 1-D grid: a block reads k positions, consecutive blocks start s apart,
    consecutive taps are d apart (so the span is d(k-1)+1), and the padded row has
    in + 2p positions with p zeros at each end.
    """
    for n, k, s, p, d in GRID_1D:
        reads = _reads(n, k, s, p, d)
        for b, r in enumerate(reads):
            taps = sorted(r)
            assert len(taps) == k and taps == [b * s + i * d for i in range(k)]
        x = torch.ones(1, 1, 1, n)
        cols = F.unfold(x, (1, k), (1, d), (0, p), (1, s))[0]
        # the zeros read come from p zeros at each end, never from inside
        zero = {b * s + i * d for b in range(cols.shape[1]) for i in range(k) if cols[i, b] == 0}
        assert all(t < p or t >= p + n for t in zero)


# --------------------------------------------------------------------------
# added sentences: dilation, views, volumes, the explorer, the exercises
# --------------------------------------------------------------------------
def test_dilation_spaces_the_taps_dilation_pixels_apart():
    """[sec-dilation]
    > `dilation` (the *à trous*, "with holes", algorithm) spaces the kernel's taps `dilation`
    > pixels apart.

    Over the 1-D grid: consecutive taps of every block are exactly d positions apart.
    """
    for n, k, s, p, d in GRID_1D:
        for r in _reads(n, k, s, p, d):
            taps = sorted(r)
            assert all(b - a == d for a, b in itertools.pairwise(taps))


def test_chained_tensor_unfolds_permuted_and_reshaped_are_F_unfold():
    """[sec-tensor-unfold]
    > Moving the window dimensions in front of the block dimensions and reshaping makes
    > the copy that `F.unfold` returns.

    Over the 2-D grid without padding or dilation (Tensor.unfold has neither): two
    Tensor.unfold calls, permuted to (N, C, kh, kw, oh, ow) and reshaped, equal F.unfold;
    with dilation, taking every d-th element of each window does too.
    """
    gen = torch.Generator().manual_seed(9)
    for (h, w), (kh, kw), s, p, d in _grid_2d():
        x = torch.randn(2, 3, h, w, generator=gen)
        xp = F.pad(x, (p[1], p[1], p[0], p[0]))
        sh, sw = d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1  # the spans
        win = xp.unfold(2, sh, s[0]).unfold(3, sw, s[1])[..., :: d[0], :: d[1]]
        oh, ow = win.shape[2:4]
        cols = win.permute(0, 1, 4, 5, 2, 3).reshape(2, 3 * kh * kw, oh * ow)
        assert torch.equal(cols, F.unfold(x, (kh, kw), d, p, s))


def test_unfold3d_and_unfold1d_are_the_blocks_of_conv3d_and_conv1d():
    """[sec-1d-3d]
    > signals and volumes have
    > functions of their own, `convlab.unfold1d` and `convlab.unfold3d` (batched or not).

    [sec-unfold-summary]
    > `convlab.unfold1d` and
    > `convlab.unfold3d` take signals and volumes.

    torch has no 3-D unfold to compare with, so: conv3d(x, w) == w.view(C_out, -1) @
    unfold3d(x), batched and unbatched, over sizes up to 7, kernels up to 3, strides,
    paddings and dilations up to 2; the same for conv1d and unfold1d over the 1-D grid.
    """
    gen = torch.Generator().manual_seed(10)
    for size, k, s, p, d in itertools.product(
        [(3, 4, 5), (7, 2, 6)], [(1, 1, 1), (2, 1, 3), (3, 2, 2)], (1, 2), (0, 2), (1, 2)
    ):
        if any(d * (k[i] - 1) + 1 > size[i] + 2 * p for i in range(3)):
            continue
        x = torch.randn(2, 2, *size, dtype=torch.float64, generator=gen)
        weight = torch.randn(3, 2, *k, dtype=torch.float64, generator=gen)
        ref = F.conv3d(x, weight, None, s, p, d)
        cols = convlab.unfold3d(x, k, d, p, s)
        assert torch.allclose((weight.view(3, -1) @ cols).view_as(ref), ref)
        assert torch.equal(convlab.unfold3d(x[0], k, d, p, s), cols[0])
    for n, k, s, p, d in GRID_1D[::5]:
        x = torch.randn(2, 2, n, dtype=torch.float64, generator=gen)
        weight = torch.randn(3, 2, k, dtype=torch.float64, generator=gen)
        ref = F.conv1d(x, weight, None, s, p, d)
        cols = convlab.unfold1d(x, k, d, p, s)
        assert torch.allclose((weight.view(3, -1) @ cols).view_as(ref), ref)


def test_the_explorers_sliders_are_unfolds_arguments_and_a_misfit_shows_the_error():
    """[sec-watch-blocks]
    > The sliders are the arguments of `F.unfold`: `input_size`, `kernel_size`,
    > `stride`, `padding` and `dilation`. A combination that does not fit shows convlab's error
    > instead of a picture.

    The explorer's live sliders and static grid are exactly those five; every
    combination of its live ranges where the block does not fit makes the scene
    builder raise convlab's ValueError (the explorer shows its message), and every
    other one builds.
    """
    from convlab import scenes, widgets

    names = {"input_size", "kernel_size", "stride", "padding", "dilation"}
    assert set(widgets.SlidingBlocks.live) == set(widgets.SlidingBlocks.grid) == names
    live = widgets.SlidingBlocks.live
    ranges = [range(lo, hi + 1) for lo, hi in (live[n] for n in sorted(names))]
    for dil, n, k, p, s in itertools.product(*ranges):  # sorted: d, in, k, p, s
        if dil * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError, match="a block must fit"):
                scenes.sliding_blocks(n, k, s, p, dil)
        elif n <= 5:
            scenes.sliding_blocks(n, k, s, p, dil)


def test_the_exercise_checkers_name_the_first_failing_case_and_why():
    """[sec-unfold-exercises]
    > Each exercise has a stub to complete and a checker that runs your function against
    > PyTorch on random cases and tells you the first case that fails, and why.

    [sec-unfold-exercises]
    > The checker compares values **and gradients** with
    > `F.unfold`.

    Each chapter-1 checker with a stub says NOT YET; with a wrong answer it names a case
    number and what was wrong; check_unfold fails an answer with the right values but
    no gradient.
    """
    from convlab import exercises

    def stub(*args, **kwargs):
        raise NotImplementedError

    for check in (
        exercises.check_keeps_count,
        exercises.check_unfold,
        exercises.check_parameters_for_L,
    ):
        assert repr(check(stub)).startswith("NOT YET")

    def no_dilation(x, kernel_size, dilation, padding, stride):
        return F.unfold(x.detach() * 1, kernel_size, 1, padding, stride)

    def detached(x, kernel_size, dilation, padding, stride):
        # right values from windows of a padded copy (an answer may not call convlab),
        # but cut from the graph
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel_size, dilation, padding, stride
        xp = F.pad(x.detach(), (pw, pw, ph, ph))
        blocks = xp.unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)
        blocks = blocks[..., ::dh, ::dw]  # (N, C, out_h, out_w, kh, kw)
        N, C, oh, ow = blocks.shape[:4]
        return blocks.permute(0, 1, 4, 5, 2, 3).reshape(N, C * kh * kw, oh * ow)

    for wrong in (no_dilation, detached):
        text = " ".join(repr(exercises.check_unfold(wrong)).split())
        assert "case" in text and not text.startswith("PASSED")
    text = " ".join(repr(exercises.check_unfold(detached)).split())
    assert "grad" in text


def test_keeps_count_has_31_cases_and_stride_1_keeps_almost_nothing():
    """[sec-unfold-exercises]
    > The checker compares your sets with
    > `F.unfold`'s counts on 31 cases.

    [sec-unfold-exercises]
    > With `stride=1` the remainder $r$ is 0 and $q = \\mathrm{out} - 1$: every growth
    > changes the count, except `stride` when there is a single block and `dilation` when
    > `kernel_size=1`.

    The checker's case count; over the 1-D grid with stride 1, the growths that keep
    F.unfold's count are exactly those two.
    """
    import random

    from convlab import exercises

    assert len(exercises._keeps_count_cases(random.Random(0), 30)) == 31
    for n, k, s, p, d in GRID_1D:
        if s != 1:
            continue
        kept = exercises._kept(dict(input_size=n, kernel_size=k, stride=1, padding=p, dilation=d))
        want = {"stride"} if _out(n, k, 1, p, d) == 1 else set()
        if k == 1:
            want.add("dilation")
        assert kept == want, (n, k, p, d)


def test_every_cell_of_the_sliding_blocks_pictures_carries_a_number():
    """[sec-four-parameters]
    > Every cell
    > carries a number, so none of this depends on colour.

    The four pictures of this section and a grid of others: the SVG has a text for every
    cell of the padded input, of the K x L matrix and of the block grid (besides titles,
    axis numbers and the legend), and every block-grid number 0..L-1 appears.
    """
    import re

    from convlab import draw

    for n, k, s, p, d in [(5, 2, 1, 0, 1), (5, 3, 2, 0, 1), (4, 3, 1, 1, 1), (7, 3, 1, 0, 2)] + [
        (6, 2, 2, 1, 2),
        (5, 1, 3, 2, 1),
    ]:
        pic = draw.sliding_blocks_picture(n, k, s, p, d, block=0)
        texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
        L = _out(n, k, s, p, d) ** 2
        cells = (n + 2 * p) ** 2 + k * k * L + L
        assert len(texts) >= cells
        assert all(str(l) in texts for l in range(L))
