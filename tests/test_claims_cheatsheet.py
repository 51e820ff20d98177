"""The cheat sheet's formulas and rules (book/cheatsheet.md), each tried over a grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import inspect
import itertools

import torch
import torch.nn.functional as F


def _grid():
    """Per-dimension cases (n, k, s, p, d): sizes up to 9, kernel up to 4, stride and
    dilation up to 3, padding up to 3; those where the dilated kernel fits."""
    for n, k, s, p, d in itertools.product(
        range(1, 10), range(1, 5), range(1, 4), range(4), range(1, 4)
    ):
        if d * (k - 1) + 1 <= n + 2 * p:
            yield n, k, s, p, d


def test_the_output_size_formula_and_L():
    """[sec-cheat-sizes]
    > A convolution's output, and the block grid of `unfold`, has
    > $\\lfloor (n + 2p - d(k-1) - 1)/s \\rfloor + 1$ positions per dimension; `unfold`'s
    > `L` is the product over the dimensions.

    Every pair of per-dimension cases of the grid (a sample of 3,000 pairs): conv2d's
    output size and unfold's L against the formula.
    """
    cases = list(_grid())
    pairs = itertools.islice(itertools.product(cases[::7], cases[::11]), 3000)
    for (n1, k1, s1, p1, d1), (n2, k2, s2, p2, d2) in pairs:
        x = torch.zeros(1, 1, n1, n2)
        w = torch.zeros(1, 1, k1, k2)
        y = F.conv2d(x, w, None, (s1, s2), (p1, p2), (d1, d2))
        want = [
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in ((n1, k1, s1, p1, d1), (n2, k2, s2, p2, d2))
        ]
        assert list(y.shape[2:]) == want
        L = F.unfold(x, (k1, k2), (d1, d2), (p1, p2), (s1, s2)).shape[-1]
        assert L == want[0] * want[1]


def test_the_transposed_output_size_formula_and_the_output_padding_rule():
    """[sec-cheat-sizes]
    > A transposed convolution's output has $(n-1)s - 2p + d(k-1) + a + 1$ positions per
    > dimension.

    [sec-cheat-sizes]
    > `output_padding` must be smaller than `stride` or smaller than `dilation`, in each
    > dimension.

    Every per-dimension case, with every output_padding a up to 3: torch accepts it
    exactly when a < s or a < d (with the other dimension at its defaults), and then
    the size is the formula's (when it is positive).
    """
    for n, k, s, p, d in _grid():
        for a in range(4):
            x = torch.zeros(1, 1, n, 2)
            w = torch.zeros(1, 1, k, 1)
            size = (n - 1) * s - 2 * p + d * (k - 1) + a + 1
            try:
                y = F.conv_transpose2d(x, w, None, (s, 1), (p, 0), (a, 0), 1, (d, 1))
            except RuntimeError as err:
                assert not (a < s or a < d) or size <= 0, (n, k, s, p, d, a, err)
                continue
            assert a < s or a < d
            assert y.shape[2] == size


def test_fold_accepts_exactly_the_sizes_whose_grid_has_L_positions():
    """[sec-cheat-sizes]
    > `fold` accepts any `output_size` whose block grid has exactly `L` positions.

    For L from 1 to 12 and every output_size up to 10 x 10 and kernel, stride,
    padding and dilation of a small grid: F.fold runs exactly when the block grid of
    output_size (the formula above) has L positions.
    """
    for L, k, s, p, d in itertools.product(range(1, 13), (1, 2, 3), (1, 2), (0, 1), (1, 2)):
        cols = torch.zeros(1, k * k, L)
        for h, w in itertools.product(range(1, 11), repeat=2):
            grid = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n in (h, w)]
            fits = all(d * (k - 1) + 1 <= n + 2 * p for n in (h, w))
            try:
                F.fold(cols, (h, w), k, d, p, s)
                ran = True
            except RuntimeError:
                ran = False
            assert ran == (fits and grid[0] * grid[1] == L), (L, k, s, p, d, h, w)


def test_the_argument_orders_and_weight_shapes():
    """[sec-cheat-orders]
    > `unfold` and `fold` take `dilation` before `padding`; `conv2d` takes `padding`
    > before `dilation`; `conv_transpose2d` takes `dilation` last.

    [sec-cheat-orders]
    > The weight of `conv2d` is `(C_out, C_in/groups, kH, kW)`; the weight of
    > `conv_transpose2d` is `(C_in, C_out/groups, kH, kW)`.

    The orders from the functions' signatures (the code block above them is checked
    against them too); the weight shapes from nn.Conv2d and nn.ConvTranspose2d with
    groups 1 to 3.
    """

    def names(fn):
        return list(inspect.signature(fn).parameters)

    assert names(F.unfold) == ["input", "kernel_size", "dilation", "padding", "stride"]
    assert names(F.fold) == ["input", "output_size", "kernel_size", "dilation", "padding", "stride"]
    conv = torch.nn.Conv2d(6, 12, (2, 3), groups=3)
    tconv = torch.nn.ConvTranspose2d(6, 12, (2, 3), groups=3)
    assert conv.weight.shape == (12, 2, 2, 3) and tconv.weight.shape == (6, 4, 2, 3)
    # conv2d and conv_transpose2d are builtins: their order, by position, from behaviour
    x = torch.randn(1, 3, 9, 9)
    w = torch.randn(3, 3, 3, 3)
    by_name = F.conv2d(x, w, None, stride=2, padding=1, dilation=2, groups=1)
    assert torch.equal(F.conv2d(x, w, None, 2, 1, 2, 1), by_name)
    by_name = F.conv_transpose2d(
        x, w, None, stride=2, padding=1, output_padding=1, groups=1, dilation=2
    )
    assert torch.equal(F.conv_transpose2d(x, w, None, 2, 1, 1, 1, 2), by_name)
    # the page's code block says the same
    import pathlib
    import re

    page = (pathlib.Path(__file__).resolve().parent.parent / "book" / "cheatsheet.md").read_text()
    block = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    block = re.sub(r"\s+", " ", re.sub(r"#.*", "", block))
    assert "F.unfold(input, kernel_size, dilation=1, padding=0, stride=1)" in block
    assert "F.fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1)" in block
    assert "F.conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)" in block
    assert (
        "F.conv_transpose2d(input, weight, bias=None, stride=1, padding=0, "
        "output_padding=0, groups=1, dilation=1)" in block
    )


def test_a_column_lists_channel_then_kernel_row_then_kernel_column():
    """[sec-cheat-orders]
    > A column of `unfold` lists channel, then kernel row, then kernel column:
    > entry `c*kH*kW + i*kW + j`.

    Three channels, non-square kernels: column 0 of unfold is the top-left block,
    read in that order.
    """
    for kh, kw in itertools.product(range(1, 4), repeat=2):
        x = torch.arange(3 * 5 * 6, dtype=torch.float64).view(1, 3, 5, 6)
        col = F.unfold(x, (kh, kw))[0, :, 0]
        for c, i, j in itertools.product(range(3), range(kh), range(kw)):
            assert col[c * kh * kw + i * kw + j] == x[0, c, i, j]


def test_a_convolution_is_a_product():
    """[sec-cheat-recipes]
    > With one group,
    > `(weight.view(C_out, -1) @ F.unfold(x, k, dilation=d, padding=p, stride=s))`, viewed
    > as `(N, C_out, H_out, W_out)`, plus `bias.view(1, -1, 1, 1)` equals
    > `F.conv2d(x, weight, bias, stride=s, padding=p, dilation=d)`.

    Over the per-dimension grid (square), batch 2, 3 channels in, 2 out, float64.
    """
    gen = torch.Generator().manual_seed(0)
    for n, k, s, p, d in list(_grid())[::5]:
        x = torch.randn(2, 3, n, n + 1, dtype=torch.float64, generator=gen)
        weight = torch.randn(2, 3, k, k, dtype=torch.float64, generator=gen)
        bias = torch.randn(2, dtype=torch.float64, generator=gen)
        want = F.conv2d(x, weight, bias, s, p, d)
        N, C_out, H_out, W_out = want.shape
        cols = F.unfold(x, k, dilation=d, padding=p, stride=s)
        got = (weight.view(C_out, -1) @ cols).view(N, C_out, H_out, W_out)
        torch.testing.assert_close(got + bias.view(1, -1, 1, 1), want)
        by_name = F.conv2d(x, weight, bias, stride=s, padding=p, dilation=d)
        torch.testing.assert_close(by_name, want)


def test_the_divisor_counts_blocks_and_undoes_unfold_where_it_is_not_zero():
    """[sec-cheat-recipes]
    > `F.fold(F.unfold(ones, ...), ...)` counts the blocks that read
    > each pixel: `fold(unfold(x)) / divisor` gives back `x` wherever that count is not 0.

    Over the grid: the divisor against a count by hand, and the division against x
    on every pixel with a nonzero count.
    """
    gen = torch.Generator().manual_seed(1)
    for n, k, s, p, d in _grid():
        x = torch.randn(1, 2, n, n, dtype=torch.float64, generator=gen)
        args = (k, d, p, s)
        divisor = F.fold(F.unfold(torch.ones_like(x), *args), (n, n), *args)
        count = torch.zeros(n + 2 * p, n + 2 * p, dtype=torch.float64)
        span = d * (k - 1) + 1
        for top in range(0, n + 2 * p - span + 1, s):
            for left in range(0, n + 2 * p - span + 1, s):
                count[top : top + span : d, left : left + span : d] += 1
        assert torch.equal(divisor[0, 0], count[p : p + n, p : p + n])
        back = F.fold(F.unfold(x, *args), (n, n), *args) / divisor
        seen = divisor > 0
        torch.testing.assert_close(back[seen], x[seen])


def test_the_rot90_recipe():
    """[sec-cheat-recipes]
    > A transposed convolution is a convolution of the input with
    > `s - 1` zeros inserted between its pixels, padded by $d(k-1) - p$ on each side (a
    > negative amount crops) and
    > $a$ more at the bottom/right, with the kernel rotated 180 degrees and its two
    > channel axes swapped: `weight.rot90(2, dims=[2, 3]).transpose(0, 1)` with one
    > group, stride 1 in the convolution, and the same `dilation`.

    [sec-cheat-recipes]
    > **`output_padding`** adds rows and columns at the bottom and the right only.

    Over the grid (per dimension, the other dimension at its defaults but 2 channels in
    and 3 out) with every legal output_padding: the recipe equals
    F.conv_transpose2d; and the output with output_padding a equals the one without,
    with a rows added at the bottom (the rows above unchanged).
    """
    gen = torch.Generator().manual_seed(2)
    for n, k, s, p, d in _grid():
        for a in range(max(s, d)):
            x = torch.randn(1, 2, n, 3, dtype=torch.float64, generator=gen)
            w = torch.randn(2, 3, k, 1, dtype=torch.float64, generator=gen)
            size = (n - 1) * s - 2 * p + d * (k - 1) + a + 1
            if size <= 0:
                continue
            want = F.conv_transpose2d(x, w, None, (s, 1), (p, 0), (a, 0), 1, (d, 1))
            up = x.new_zeros(1, 2, (n - 1) * s + 1, 3)
            up[:, :, ::s] = x
            q = d * (k - 1) - p
            up = F.pad(up, (0, 0, q, q + a))  # negative amounts crop
            got = F.conv2d(up, w.rot90(2, dims=[2, 3]).transpose(0, 1), None, 1, 0, (d, 1))
            torch.testing.assert_close(got, want)
            if a and size - a > 0:
                without = F.conv_transpose2d(x, w, None, (s, 1), (p, 0), 0, 1, (d, 1))
                torch.testing.assert_close(want[:, :, : without.shape[2]], without)
                assert want.shape[2] == without.shape[2] + a
