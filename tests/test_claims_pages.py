"""The general sentences of the prose pages (introduction, notation), each tried
against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import inspect
import itertools
import re
import warnings

import pytest
import torch
import torch.nn.functional as F

import convlab
from convlab import draw


def _cases(groups=(1,)):
    """2-D cases (size, kernel, stride, padding, dilation, groups): non-square, every
    parameter off its default somewhere; sizes up to 16, kernel up to 5, stride and
    dilation up to 4, padding up to 4."""
    for (h, w), k, s, p, d, g in itertools.product(
        [(1, 1), (4, 7), (9, 5), (16, 16)],
        [(1, 1), (2, 3), (3, 3), (5, 2)],
        [(1, 1), (2, 3), (4, 4)],
        [(0, 0), (1, 2), (4, 4)],
        [(1, 1), (2, 1), (4, 3)],
        groups,
    ):
        if all(d[i] * (k[i] - 1) + 1 <= (h, w)[i] + 2 * p[i] for i in range(2)):
            yield (h, w), k, s, p, d, g


# --------------------------------------------------------------------------
# introduction
# --------------------------------------------------------------------------
def test_unfold_copies_blocks_and_fold_adds_columns_back():
    """[intro]
    > `torch.nn.functional.unfold` (im2col) copies every block that a kernel visits
    > into a column of a matrix; `fold` (col2im) adds columns back into an image.

    Over the grid: unfold's column l is the block at l's position (every tap, padding
    read as 0), and fold of any columns is the sum, pixel by pixel, of every column
    entry whose tap lands on that pixel (built by hand with index_add), so overlapping
    blocks add, never overwrite.
    """
    gen = torch.Generator().manual_seed(0)
    for (h, w), k, s, p, d, _ in _cases():
        x = torch.randn(1, 1, h, w, dtype=torch.float64, generator=gen)
        cols = F.unfold(x, k, d, p, s)[0]  # (K, L)
        oh, ow = convlab.conv_output_shape((h, w), k, stride=s, padding=p, dilation=d)
        xp = F.pad(x, (p[1], p[1], p[0], p[0]))[0, 0]
        added = torch.zeros(h * w, dtype=torch.float64)
        y = torch.randn(cols.shape, dtype=torch.float64, generator=gen)
        for l, (i, j) in itertools.product(range(oh * ow), itertools.product(*map(range, k))):
            r, c = divmod(l, ow)
            row, col = r * s[0] + i * d[0], c * s[1] + j * d[1]
            assert cols[i * k[1] + j, l] == xp[row, col]
            if p[0] <= row < p[0] + h and p[1] <= col < p[1] + w:
                added[(row - p[0]) * w + col - p[1]] += y[i * k[1] + j, l]
        folded = F.fold(y[None], (h, w), k, d, p, s)
        assert torch.allclose(folded.flatten(), added)


def test_a_convolution_is_one_matrix_multiplication_and_a_transposed_one_two_ways():
    """[intro]
    > With those two operations a convolution becomes one matrix multiplication, and
    > a transposed convolution becomes either a convolution with a kernel rotated by
    > 180 degrees over a zero-stuffed, padded input, or a matrix multiplication
    > followed by `fold`.

    Over the grid with groups 1 and 2 and every output_padding below the stride:
    conv2d == W @ unfold; conv_transpose2d == conv2d (stride 1, dilation d) of the
    input with s - 1 zeros between pixels, padded by d(k-1) - p per side (cropped where
    negative) plus output_padding at the bottom/right, with the kernel rotated by 180
    degrees and its channels swapped within each group; and == fold(W^T @ x).
    """
    gen = torch.Generator().manual_seed(1)
    for (h, w), k, s, p, d, g in _cases(groups=(1, 2)):
        c_in, c_out = 2 * g, 2 * g
        x = torch.randn(2, c_in, h, w, dtype=torch.float64, generator=gen)
        weight = torch.randn(c_out, c_in // g, *k, dtype=torch.float64, generator=gen)
        y = F.conv2d(x, weight, None, s, p, d, g)
        cols = F.unfold(x, k, d, p, s).view(2, g, -1, y.shape[2] * y.shape[3])
        out = (weight.view(g, c_out // g, -1) @ cols).view_as(y)
        assert torch.allclose(out, y)
        # transposed: input z, weight (C_in, C_out / g, *k)
        z = torch.randn(2, c_in, *y.shape[2:], dtype=torch.float64, generator=gen)
        wt = torch.randn(c_in, c_out // g, *k, dtype=torch.float64, generator=gen)
        for op in itertools.product(range(s[0]), range(s[1])):
            if op[0] >= 2 or op[1] >= 2:
                continue
            try:
                ref = F.conv_transpose2d(z, wt, None, s, p, op, g, d)
            except RuntimeError:
                continue
            zh, zw = z.shape[2:]
            stuffed = z.new_zeros(2, c_in, (zh - 1) * s[0] + 1, (zw - 1) * s[1] + 1)
            stuffed[:, :, :: s[0], :: s[1]] = z
            e = [d[i] * (k[i] - 1) - p[i] for i in range(2)]
            padded = F.pad(stuffed, (e[1], e[1] + op[1], e[0], e[0] + op[0]))
            rot = torch.rot90(wt, 2, dims=[2, 3])
            rot = rot.view(g, c_in // g, c_out // g, *k).transpose(1, 2)
            gather = F.conv2d(padded, rot.reshape(c_out, c_in // g, *k), None, 1, 0, d, g)
            assert torch.allclose(gather, ref)
            zcols = wt.view(g, c_in // g, -1).transpose(1, 2) @ z.view(2, g, c_in // g, -1)
            scatter = F.fold(zcols.view(2, -1, zh * zw), ref.shape[2:], k, d, p, s)
            assert torch.allclose(scatter, ref)


def test_the_forum_question_12100_and_not_2809():
    """[sec-who-for]
    > "why does `fold` complain that `L` is 12100 and not 2809?"

    The forum case (224 x 224, kernel 3, dilation 2, stride 2): unfold gives 12100
    blocks, and fold with the block grid 110 x 110 as output_size expects 2809.
    """
    kw = dict(kernel_size=3, dilation=2, stride=2)
    cols = F.unfold(torch.zeros(1, 1, 224, 224), **kw)
    assert cols.shape[-1] == 12100
    with pytest.raises(RuntimeError, match=r"53 \* 53 = 2809, but got input.size\(2\)=12100"):
        F.fold(cols, (110, 110), **kw)
    assert F.fold(cols, (224, 224), **kw).shape == (1, 1, 224, 224)


# --------------------------------------------------------------------------
# notation
# --------------------------------------------------------------------------
FIXED = {
    "input",
    "weight",
    "bias",
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "groups",
    "output_padding",
    "output_size",
}


def test_convlabs_ops_use_the_fixed_names():
    """[notation]
    > The same names mean the same things on every page, in every code cell, and in
    > `convlab`.

    Every parameter of convlab's ops (unfold, fold, convolutions and transposed
    convolutions in 1-3 dimensions) and shape helpers is one of the fixed names of the
    table, or the shape helpers' input_shape (and a method name or the fold helper's
    L_per_dim): no op renames a parameter.
    """
    ops = [
        convlab.unfold,
        convlab.unfold1d,
        convlab.unfold3d,
        convlab.fold,
        convlab.fold1d,
        convlab.fold3d,
        convlab.conv1d,
        convlab.conv2d,
        convlab.conv3d,
        convlab.conv_transpose1d,
        convlab.conv_transpose2d,
        convlab.conv_transpose3d,
    ]
    for fn in ops:
        names = set(inspect.signature(fn).parameters)
        assert names <= FIXED | {"method"}, (fn.__name__, names - FIXED)
    helpers = [
        convlab.num_blocks,
        convlab.conv_output_shape,
        convlab.conv_transpose_output_shape,
        convlab.output_padding_for,
        convlab.fold_output_sizes_for,
    ]
    for fn in helpers:
        names = set(inspect.signature(fn).parameters)
        assert names <= FIXED | {"input_shape", "L_per_dim"}, (fn.__name__, names)


def test_weight_and_bias_shapes():
    """[sec-names]
    > | `weight` | the kernel: `(C_out, C_in / groups, *kernel_size)` for a convolution,
    > `(C_in, C_out / groups, *kernel_size)` for a transposed convolution |
    > | `bias` | `(C_out,)`, added to every output pixel of a channel |

    nn.Conv1d/2d/3d and nn.ConvTranspose1d/2d/3d for groups 1, 2, 3 and non-square
    kernels; the bias is the output with it minus the output without it, the same
    at every pixel of a channel.
    """
    gen = torch.Generator().manual_seed(2)
    for dims, g, mult_in, mult_out in itertools.product((1, 2, 3), (1, 2, 3), (1, 2), (1, 3)):
        c_in, c_out = g * mult_in, g * mult_out
        k = (2, 3, 1)[:dims]
        conv = getattr(torch.nn, f"Conv{dims}d")(c_in, c_out, k, groups=g)
        tconv = getattr(torch.nn, f"ConvTranspose{dims}d")(c_in, c_out, k, groups=g)
        assert conv.weight.shape == (c_out, c_in // g, *k)
        assert tconv.weight.shape == (c_in, c_out // g, *k)
        assert conv.bias.shape == tconv.bias.shape == (c_out,)
        x = torch.randn(2, c_in, *(5,) * dims, generator=gen)
        for layer, f in ((conv, F.conv1d), (tconv, F.conv_transpose1d)):
            f = getattr(F, f.__name__.replace("1d", f"{dims}d"))
            with torch.no_grad():
                diff = layer(x) - f(x, layer.weight, None, groups=g)
            shape = (1, c_out) + (1,) * dims
            bias = layer.bias.detach().view(shape).expand_as(diff)
            assert torch.allclose(diff, bias, atol=1e-6)


def test_output_padding_adds_rows_and_columns_at_the_bottom_right():
    """[sec-names]
    > | `output_padding` | extra rows/columns at the **bottom/right** of a transposed
    > convolution's output |

    [sec-sizes]
    > where `output_padding` must be smaller than `stride` or smaller than `dilation`, in
    > each dimension (PyTorch refuses any other).

    Over the grid and every output_padding below max(stride, dilation) per dimension:
    the output with output_padding op is op rows and columns larger, and its top-left
    part is the output without it (nothing moves: the extra ones are at the end).
    """
    gen = torch.Generator().manual_seed(3)
    for (h, w), k, s, p, d, _ in _cases():
        z = torch.randn(1, 1, h, w, dtype=torch.float64, generator=gen)
        wt = torch.randn(1, 1, *k, dtype=torch.float64, generator=gen)
        try:
            base = F.conv_transpose2d(z, wt, None, s, p, 0, 1, d)
        except RuntimeError:
            continue
        for op in itertools.product(range(4), range(4)):
            if not all(op[i] < max(s[i], d[i]) for i in range(2)):
                with pytest.raises(RuntimeError, match="output padding must be smaller"):
                    F.conv_transpose2d(z, wt, None, s, p, op, 1, d)
                continue
            out = F.conv_transpose2d(z, wt, None, s, p, op, 1, d)
            assert out.shape[2:] == (base.shape[2] + op[0], base.shape[3] + op[1])
            assert torch.allclose(out[:, :, : base.shape[2], : base.shape[3]], base)


def test_padding_is_per_side_and_L_and_cols_are_what_the_table_says():
    """[sec-names]
    > | `padding` | zeros added on **each side** (per side, not in total), `p`; for a transposed
    > convolution, rows and columns removed from each side of its full output |

    [sec-names]
    > | `L` | the number of blocks (columns of the unfolded matrix), and only that: a 1-D
    > signal's length is `W` |
    > | `cols` | an unfolded matrix, `(N, C * prod(kernel_size), L)` |

    Over the grid: unfold(x, padding=p) equals unfold of F.pad with p on each side,
    and cols has the stated shape with L the number of blocks. Every page names a
    signal's length W, never L, in prose and code.
    """
    gen = torch.Generator().manual_seed(4)
    for (h, w), k, s, p, d, _ in _cases():
        x = torch.randn(2, 3, h, w, generator=gen)
        cols = F.unfold(x, k, d, p, s)
        assert torch.equal(cols, F.unfold(F.pad(x, (p[1], p[1], p[0], p[0])), k, d, 0, s))
        L = convlab.num_blocks((h, w), k, stride=s, padding=p, dilation=d)
        assert cols.shape == (2, 3 * k[0] * k[1], L)
        weight = torch.randn(3, 2, *k, generator=gen)
        full = F.conv_transpose2d(x, weight, None, s, 0, 0, 1, d)
        H, W = full.shape[2:]
        if H > 2 * p[0] and W > 2 * p[1]:
            cropped = full[..., p[0] : H - p[0], p[1] : W - p[1]]
            got = F.conv_transpose2d(x, weight, None, s, p, 0, 1, d)
            assert torch.allclose(got, cropped, atol=1e-4)
    from claims_index import PAGES, page_markdown

    for path in PAGES:
        text = path.read_text() if path.suffix == ".md" else page_markdown(path)
        if path.suffix == ".ipynb":
            import json

            text += "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        assert not re.search(r"\(N, C, L\)|\(C, L\)\s*(#|$)", text), path.name


@pytest.mark.parametrize("name", ["kernel_size", "dilation", "padding", "stride"])
def test_every_parameter_is_an_int_or_a_tuple_per_dimension(name):
    """[sec-names]
    > Every parameter is an `int` (the same in every spatial dimension) or a tuple
    > with one entry per spatial dimension (`convlab` also repeats a tuple of one;
    > any other length is an error naming the parameter, never a different reading
    > of the input). The one exception is a convolution's `padding`, which may also be
    > the string `'valid'` (no padding) or `'same'` (the output as large as the input,
    > with stride 1; when $\\mathrm{dil}(k-1)$ is odd, the extra zero goes at the bottom/right);
    > `unfold` and `fold` take no string.

    For unfold, fold and conv2d in torch and convlab: an int equals the tuple that
    repeats it; convlab repeats a tuple of one and names the parameter for lengths 0,
    3, 4; padding 'same'/'valid' work for conv2d (stride 1, every kernel up to 5) and
    'same' is refused with a stride of 2; unfold and fold refuse strings. The old
    wording (no exception) fails on conv2d's strings.
    """
    x = torch.randn(1, 2, 9, 8)
    base = dict(kernel_size=3, dilation=1, padding=1, stride=1)
    value = base[name]
    pair = F.unfold(x, **{**base, name: (value, value)})
    assert torch.equal(F.unfold(x, **base), pair)
    assert torch.equal(convlab.unfold(x, **{**base, name: (value,)}), pair)
    for length in (0, 3, 4):
        bad = (value,) * length
        with pytest.raises(ValueError, match=re.escape(f"{name}={bad!r}")):
            convlab.unfold(x, **{**base, name: bad})
    if name == "padding":
        for k in range(1, 6):
            weight = torch.randn(3, 2, k, k)
            for fn in (F.conv2d, convlab.conv2d):
                assert fn(x, weight, padding="same").shape[2:] == x.shape[2:]
            for d in range(1, 4):
                total = d * (k - 1)
                before, after = total // 2, total - total // 2  # the odd one at the end
                padded = F.pad(x, (before, after, before, after))
                want = F.conv2d(padded, weight, dilation=d)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # even kernels: a padded copy
                    got = F.conv2d(x, weight, padding="same", dilation=d)
                assert torch.allclose(got, want, atol=1e-5), (k, d)
                assert fn(x, weight, padding="valid").shape == fn(x, weight, padding=0).shape
        with pytest.raises(RuntimeError, match="not supported for strided"):
            F.conv2d(x, torch.randn(3, 2, 3, 3), stride=2, padding="same")
        for s in ("same", "valid"):
            with pytest.raises((TypeError, ValueError)):
                F.unfold(x, 3, padding=s)
            with pytest.raises((TypeError, ValueError)):
                convlab.unfold(x, 3, padding=s)
            with pytest.raises((TypeError, ValueError)):
                F.fold(torch.zeros(1, 18, 72), (9, 8), 3, padding=s)
            with pytest.raises((TypeError, ValueError)):
                convlab.fold(torch.zeros(1, 18, 72), (9, 8), 3, padding=s)


def test_the_size_formulas():
    """[sec-sizes]
    > \\mathrm{out} = \\left\\lfloor \\frac{\\mathrm{in} + 2p - \\mathrm{dil}\\,(k-1) - 1}{s}
    > \\right\\rfloor + 1

    [sec-sizes]
    > and `L` is the product of the `out` of every spatial dimension.

    [sec-sizes]
    > \\mathrm{out} = (\\mathrm{in} - 1)\\,s - 2p + \\mathrm{dil}\\,(k - 1) +
    > \\mathrm{output\\_padding} + 1

    Over a 1-D grid (sizes 1-16, kernel 1-5, stride and dilation 1-4, padding 0-4, every
    output_padding PyTorch accepts): conv1d, unfold1d and conv_transpose1d against the
    formulas; in 2-D, L is the product.
    """
    for n, k, s, p, d in itertools.product(
        range(1, 17), range(1, 6), range(1, 5), range(5), range(1, 5)
    ):
        if d * (k - 1) + 1 <= n + 2 * p:
            out = (n + 2 * p - d * (k - 1) - 1) // s + 1
            y = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), None, s, p, d)
            assert (
                y.shape[-1] == out == convlab.unfold1d(torch.zeros(1, 1, n), k, d, p, s).shape[-1]
            )
        for op in range(max(s, d)):
            want = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if want < 1:
                continue
            z = F.conv_transpose1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), None, s, p, op, 1, d)
            assert z.shape[-1] == want
    for (h, w), k, s, p, d, _ in _cases():
        L = F.unfold(torch.zeros(1, 1, h, w), k, d, p, s).shape[-1]
        oh, ow = convlab.conv_output_shape((h, w), k, stride=s, padding=p, dilation=d)
        assert L == oh * ow


def test_convlab_unfold_fold_keep_torchs_signatures():
    """[sec-argument-orders]
    > `convlab`'s ops
    > keep torch's exact signatures; its shape helpers (`conv_output_shape`,
    > `num_blocks`, `conv_transpose_output_shape`, `output_padding_for`,
    > `fold_output_sizes_for`) take every parameter after `kernel_size` by keyword
    > only.

    unfold and fold: the same names, order and defaults as F.unfold and F.fold; the
    convolutions: the order of torch's docstring signature; every helper's parameters
    after kernel_size are keyword-only.
    """
    for ours, theirs in [(convlab.unfold, F.unfold), (convlab.fold, F.fold)]:
        a, b = inspect.signature(ours), inspect.signature(theirs)
        assert [(p.name, p.default) for p in a.parameters.values()] == [
            (p.name, p.default) for p in b.parameters.values()
        ]
    for name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"):
        doc = getattr(F, name).__doc__.strip().splitlines()[0]
        torch_names = re.findall(r"(\w+)(?:=[^,)]*)?[,)]", doc[doc.index("(") :])
        ours = list(inspect.signature(getattr(convlab, name)).parameters)
        assert ours[: len(torch_names)] == torch_names, (name, ours, torch_names)
    for fn in (
        convlab.conv_output_shape,
        convlab.num_blocks,
        convlab.conv_transpose_output_shape,
        convlab.output_padding_for,
        convlab.fold_output_sizes_for,
    ):
        params = list(inspect.signature(fn).parameters.values())
        after = params[params.index(inspect.signature(fn).parameters["kernel_size"]) + 1 :]
        assert after and all(p.kind is p.KEYWORD_ONLY for p in after), fn.__name__


def test_the_positional_orders_of_the_table():
    """[sec-argument-orders]
    > | `F.conv2d` | `weight, bias, stride, padding, dilation, groups` |
    > | `F.conv_transpose2d` | `weight, bias, stride, padding, output_padding, groups, dilation` |
    > | `F.unfold` | `kernel_size, dilation, padding, stride` |
    > | `F.fold` | `output_size, kernel_size, dilation, padding, stride` |

    Each positional call, with values chosen so that a swap changes the result, equals
    the keyword call in the table's order.
    """
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 4, 12, 12, dtype=torch.float64, generator=gen)
    w = torch.randn(4, 2, 3, 3, dtype=torch.float64, generator=gen)
    b = torch.randn(4, dtype=torch.float64, generator=gen)
    kw = dict(stride=2, padding=1, dilation=3, groups=2)
    assert torch.equal(F.conv2d(x, w, b, 2, 1, 3, 2), F.conv2d(x, w, b, **kw))
    wt = torch.randn(4, 2, 3, 3, dtype=torch.float64, generator=gen)
    t_kw = dict(stride=3, padding=1, output_padding=2, groups=2, dilation=4)
    assert torch.equal(
        F.conv_transpose2d(x, wt, b, 3, 1, 2, 2, 4), F.conv_transpose2d(x, wt, b, **t_kw)
    )
    assert torch.equal(F.unfold(x, 3, 2, 1, 3), F.unfold(x, 3, dilation=2, padding=1, stride=3))
    cols = F.unfold(x, 3, dilation=2, padding=1, stride=3)
    assert torch.equal(
        F.fold(cols, (12, 12), 3, 2, 1, 3),
        F.fold(cols, output_size=(12, 12), kernel_size=3, dilation=2, padding=1, stride=3),
    )


def test_folds_output_size_is_the_image_not_the_block_grid():
    """[sec-argument-orders]
    > `F.fold`'s `output_size` is the size of the image the blocks came from, not the
    > size of a convolution's output ({ref}`ch-fold`).

    Over the grid: fold(unfold(x), output_size=x's size) runs; with the block grid
    (the convolution's output size) as output_size it raises, unless the grid happens
    to give the same count of blocks as the image (then both are accepted: checked
    with the formula).
    """
    for (h, w), k, s, p, d, _ in _cases():
        cols = F.unfold(torch.zeros(1, 1, h, w), k, d, p, s)
        assert F.fold(cols, (h, w), k, d, p, s).shape == (1, 1, h, w)
        grid = convlab.conv_output_shape((h, w), k, stride=s, padding=p, dilation=d)
        try:
            same = convlab.num_blocks(grid, k, stride=s, padding=p, dilation=d) == cols.shape[-1]
        except ValueError:
            same = False
        if same:
            continue
        with pytest.raises(RuntimeError):
            F.fold(cols, grid, k, d, p, s)


def test_figures_tell_padding_and_uncovered_pixels_apart_from_pixels():
    """[sec-figures-notation]
    > pixels are named `x0`, `x1`, ..., so a padding cell, hatched with a
    > dashed border and showing its value `0`, is never mistaken for a pixel whose
    > value is 0; a pixel that no block covers (count 0), in the divisor pictures and in
    > the fold explorer, is a bold `0` in a thick dotted box, never hatched

    The static pictures: sliding blocks with padding (pixels x0..x24, hatching, a dashed
    border, padding 0s), the block-starts strip, and a divisor with zeros (bold 0s,
    a dotted box, no hatching); the legends say so.
    """
    pic = draw.sliding_blocks_picture(5, 3, padding=1, block=0)
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
    assert "x0" in texts and "x24" in texts and "0" in texts
    assert "<pattern" in pic.svg and "stroke-dasharray" in pic.svg
    strip = draw.block_starts_picture(12, 3, stride=3, padding=1)
    assert "<pattern" in strip.svg and "padding zero" in strip.svg
    div = draw.divisor_picture((7, 7), [dict(kernel_size=2, stride=3)])
    assert "uncovered" in div.alt and draw.UNCOVERED_LEGEND in div.svg
    assert "<pattern" not in div.svg  # no hatching: hatching means padding
    assert "font-weight: 700" in div.svg or "font-weight: bold" in div.svg


def test_counts_are_shaded_darker_with_the_number_and_tints_read_with_black():
    """[sec-figures-notation]
    > counts are
    > shaded on one scale, darker with the number

    [sec-figures-notation]
    > The
    > fills that mark blocks, columns and outputs are light tints of three colours of
    > Okabe and Ito's colour-blind-safe palette (orange, sky blue and bluish green),
    > light enough for black labels to stay readable on them.

    For every largest count up to 16: the shades' luminance falls strictly with the
    count; the block, column and output tints are mixes of the palette's orange, sky
    blue and bluish green with white, and black text on each has a contrast of at
    least 4.5:1 (WCAG).
    """

    def lum(color):
        rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for vmax in range(1, 17):
        shades = [lum(c) for c in draw.count_colors(vmax)]
        assert all(a > b for a, b in itertools.pairwise(shades))
        assert all((s + 0.05) / 0.05 >= 4.5 for s in shades)
    for role, name in (("block", "#E69F00"), ("column", "#56B4E9"), ("output", "#009E73")):
        assert draw.PALETTE[role] == name
        tint = draw.TINT[role]
        assert (lum(tint) + 0.05) / 0.05 >= 4.5
        # a mix of the colour with white: every channel between the colour's and 255
        for i in (1, 3, 5):
            assert int(name[i : i + 2], 16) <= int(tint[i : i + 2], 16) <= 255


def test_kernel_size_counts_taps_and_dilation_spreads_them():
    r"""[sec-names]
    > | `kernel_size` | the number of taps of a block along each dimension, `k` in formulas
    > (with dilation a block spans $\mathrm{dil}(k-1)+1$ pixels) |

    Kernel 1-5, dilation 1-4 on a line of pixel numbers: the first block has k entries
    (taps), and its first and last read pixels 0 and dil(k-1), a span of dil(k-1)+1.
    """
    for k, d in itertools.product(range(1, 6), range(1, 5)):
        n = d * (k - 1) + 1
        line = torch.arange(float(n)).view(1, 1, 1, n)
        first = F.unfold(line, (1, k), dilation=(1, d))[0, :, 0]
        assert first.numel() == k and first[-1] - first[0] + 1 == d * (k - 1) + 1
