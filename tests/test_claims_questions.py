"""The general sentences of the page of readers' questions (book/questions.md),
each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``. The rows of the table of
misconceptions are each one claim: the belief is refuted and what is true is
checked.
"""

import inspect
import itertools

import pytest
import torch
import torch.nn.functional as F

import convlab

GRID = list(
    itertools.product(
        range(1, 13, 3),  # n: input size
        range(1, 6),  # k
        range(1, 5),  # s
        range(0, 5),  # p
        range(1, 5),  # d
    )
)


def _fits(n, k, s, p, d):
    return n + 2 * p >= d * (k - 1) + 1 and p <= (d * (k - 1) + 1) // 2


def test_the_blocks_answer_the_questions_of_seed_000():
    """[seed-000]
    > `fold` refuses: it expects 2809 blocks and was given
    > 12100.

    The forum's numbers, computed.
    """
    x = torch.randn(1, 1, 224, 224)
    cols = F.unfold(x, kernel_size=3, dilation=2, stride=2)
    assert cols.shape[-1] == 12100 == 110 * 110
    assert convlab.num_blocks((110, 110), 3, dilation=2, stride=2) == 2809
    with pytest.raises(RuntimeError, match="2809"):
        F.fold(cols, (110, 110), kernel_size=3, dilation=2, stride=2)


def test_fold_is_not_the_inverse_and_the_divisor_is_not_constant():
    """[sec-misconceptions]
    > | `fold` is the inverse of `unfold` | `fold` adds; `fold(unfold(x))` is `x` times
    > a divisor, in general not constant |

    Over the grid: fold(unfold(x)) == divisor * x always; the divisor is constant
    only in some cases (so "constant" is refuted), and then fold(unfold(x)) is x
    only when that constant is 1.
    """
    nonconstant = 0
    for n, k, s, p, d in GRID:
        if not _fits(n, k, s, p, d):
            continue
        x = torch.randn(1, 2, n, n, dtype=torch.float64)
        y = F.fold(F.unfold(x, k, d, p, s), (n, n), k, d, p, s)
        div = F.fold(F.unfold(torch.ones_like(x), k, d, p, s), (n, n), k, d, p, s)
        torch.testing.assert_close(y, div * x)
        nonconstant += int(div.min() != div.max())
        if div.min() == div.max() == 1:
            torch.testing.assert_close(y, x)
    assert nonconstant > len(GRID) // 4


def test_output_size_is_the_image_size():
    """[sec-misconceptions]
    > | `fold`'s `output_size` is the convolution's output size | it is the size of the
    > image the blocks came from |

    Over the grid: fold accepts the image size; it refuses the block grid's size
    whenever the two block counts differ.
    """
    refused = 0
    for n, k, s, p, d in GRID:
        if not _fits(n, k, s, p, d):
            continue
        cols = F.unfold(torch.randn(1, 1, n, n), k, d, p, s)
        assert F.fold(cols, (n, n), k, d, p, s).shape[-2:] == (n, n)
        out = convlab.conv_output_shape((n, n), k, stride=s, padding=p, dilation=d)
        try:
            expected = convlab.num_blocks(out, k, stride=s, padding=p, dilation=d)
        except ValueError:  # no block fits in an image of the grid's size
            expected = 0
        if expected != cols.shape[-1]:
            with pytest.raises(RuntimeError):
                F.fold(cols, out, k, d, p, s)
            refused += 1
    assert refused > 0


def test_fold_with_kernel_size_1_is_a_reshape():
    """[sec-misconceptions]
    > | `kernel_size=1` in `fold` is a different operation | it is a reshape of the
    > columns into the block grid |
    """
    for c, h, w in itertools.product((1, 3), range(1, 7), range(1, 7)):
        cols = torch.randn(2, c, h * w)
        torch.testing.assert_close(F.fold(cols, (h, w), kernel_size=1), cols.view(2, c, h, w))


def test_a_transposed_convolution_is_the_input_gradient_not_an_inverse():
    """[sec-misconceptions]
    > | a transposed convolution inverts a convolution | it is its transpose, the
    > gradient with respect to the input |

    conv_transpose2d(g, w) is the vector-Jacobian product of conv2d; and it does
    not give x back from conv2d(x, w) (not even up to a scale).
    """
    gen = torch.Generator().manual_seed(0)
    for k, s, p, d in itertools.product(range(1, 5), range(1, 4), range(0, 3), range(1, 3)):
        n = 11
        if not _fits(n, k, s, p, d):
            continue
        x = torch.randn(1, 2, n, n, dtype=torch.float64, generator=gen, requires_grad=True)
        w = torch.randn(3, 2, k, k, dtype=torch.float64, generator=gen)
        y = F.conv2d(x, w, stride=s, padding=p, dilation=d)
        g = torch.randn(y.shape, dtype=torch.float64, generator=gen)
        (gx,) = torch.autograd.grad(y, x, g)
        op = convlab.output_padding_for((n, n), k, stride=s, padding=p, dilation=d)
        t = F.conv_transpose2d(g, w, stride=s, padding=p, output_padding=op, dilation=d)
        torch.testing.assert_close(t, gx)
        back = F.conv_transpose2d(y, w, stride=s, padding=p, output_padding=op, dilation=d)
        assert not torch.allclose(back, x)


def test_the_rotation_cannot_be_skipped():
    """[sec-misconceptions]
    > | the 180-degree rotation of the kernel can be skipped | without it the result is
    > a different convolution |

    The gather recipe with and without the rotation, on random non-symmetric kernels:
    with it, equal to conv_transpose2d; without it, not (for every k > 1).
    """
    gen = torch.Generator().manual_seed(1)
    for k in range(2, 6):
        x = torch.randn(1, 1, 6, 6, dtype=torch.float64, generator=gen)
        w = torch.randn(1, 1, k, k, dtype=torch.float64, generator=gen)
        ref = F.conv_transpose2d(x, w)
        padded = F.pad(x, [k - 1] * 4)
        torch.testing.assert_close(F.conv2d(padded, torch.rot90(w, 2, (2, 3))), ref)
        assert not torch.allclose(F.conv2d(padded, w), ref)


def test_the_shape_comes_back_only_with_the_right_output_padding():
    """[sec-misconceptions]
    > | a transposed convolution restores the input's shape | only with the right
    > `output_padding` |
    """
    lost = 0
    for n, k, s, p, d in GRID:
        if not _fits(n, k, s, p, d):
            continue
        x = torch.randn(1, 1, n, n)
        w = torch.randn(1, 1, k, k)
        y = F.conv2d(x, w, stride=s, padding=p, dilation=d)
        op = convlab.output_padding_for((n, n), k, stride=s, padding=p, dilation=d)
        try:
            shape = F.conv_transpose2d(y, w, stride=s, padding=p, dilation=d).shape[-2:]
        except RuntimeError:  # "Output size is too small": no shape at all
            shape = None
        fixed = F.conv_transpose2d(y, w, stride=s, padding=p, output_padding=op, dilation=d)
        assert fixed.shape[-2:] == (n, n)
        lost += int(shape != (n, n))
    assert lost > 0


def test_padding_is_per_side():
    """[sec-misconceptions]
    > | `padding` is the total number of zeros | it is per side |
    """
    for n, k, s, p, d in GRID:
        if not _fits(n, k, s, p, d):
            continue
        x = torch.randn(1, 1, n, n)
        w = torch.randn(1, 1, k, k)
        torch.testing.assert_close(
            F.conv2d(x, w, stride=s, padding=p, dilation=d),
            F.conv2d(F.pad(x, [p] * 4), w, stride=s, dilation=d),
        )


def test_groups_and_dilation_swap_places():
    """[sec-misconceptions]
    > | `conv2d` and `conv_transpose2d` take their arguments in the same order |
    > `groups` and `dilation` swap places |
    """
    for fn in (convlab, F):
        conv = _order(fn.conv2d)
        tconv = _order(fn.conv_transpose2d)
        assert conv.index("dilation") < conv.index("groups")
        assert tconv.index("groups") < tconv.index("dilation")
        assert conv[:5] == tconv[:5] == ["input", "weight", "bias", "stride", "padding"]


def _order(fn):
    """Parameter names in order: from the signature, or from a builtin's docstring."""
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        head = fn.__doc__.strip().splitlines()[0]
        inside = head[head.index("(") + 1 : head.index(")")]
        return [a.split("=")[0].strip() for a in inside.split(",")]


def test_unfold_takes_3d_input_and_refuses_integers():
    """[sec-misconceptions]
    > | `F.unfold` takes only 4-D float input | 3-D runs; on the CPU, integer dtypes are refused
    > and `bool`, floating-point and complex run |
    """
    x = torch.randn(2, 5, 6)
    torch.testing.assert_close(F.unfold(x, 2), F.unfold(x[None], 2)[0])
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
        with pytest.raises(NotImplementedError):
            F.unfold(torch.ones(1, 1, 4, 4, dtype=dtype), 2)
    for dtype in (torch.bool, torch.float16, torch.bfloat16, torch.complex64, torch.complex128):
        assert F.unfold(torch.ones(1, 1, 4, 4, dtype=dtype), 2).dtype == dtype
    for rank in (2, 5):
        with pytest.raises((RuntimeError, ValueError, IndexError)):
            F.unfold(torch.ones((3,) * rank), 2)


def test_tensor_unfold_is_one_dimension_and_a_view():
    """[sec-misconceptions]
    > | `Tensor.unfold` is `F.unfold` | one dimension, a view; the other, every spatial
    > dimension, a copy |
    """
    x = torch.randn(1, 2, 6, 7)
    v = x.unfold(3, 3, 1)  # windows along the last dimension only
    assert v.shape == (1, 2, 6, 5, 3)
    assert v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    cols = F.unfold(x, 3)
    assert cols.shape == (1, 2 * 9, 4 * 5)
    assert cols.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


def test_seed_001_answer_a_product_and_one_fold_is_the_transposed_convolution():
    """[seed-001]
    > the forum's `fold(kernel_size=1)` uses
    > different parameters (it is a reshape); a matrix product followed by one `fold`
    > with the convolution's own parameters is the *transposed* convolution

    fold with kernel_size=1 equals a view; weight.view(C_in, -1).T @ x folded with the
    convolution's kernel_size, dilation, padding and stride equals conv_transpose2d
    (output_padding below the stride), over kernels 1-3, strides 1-3, paddings 0-1,
    dilations 1-2 and input sizes 2-5.
    """

    cols = torch.randn(2, 3, 20)
    assert torch.equal(F.fold(cols, (4, 5), 1), cols.view(2, 3, 4, 5))
    for n, k, s, p, d in itertools.product(range(2, 6), (1, 2, 3), (1, 2, 3), (0, 1), (1, 2)):
        for a in range(s):
            out = (n - 1) * s - 2 * p + d * (k - 1) + 1 + a
            if out < 1:
                continue
            x = torch.randn(1, 2, n, n, dtype=torch.float64)
            w = torch.randn(2, 3, k, k, dtype=torch.float64)
            want = F.conv_transpose2d(x, w, None, s, p, a, 1, d)
            got = F.fold(w.view(2, -1).T @ x.flatten(2), (out, out), k, d, p, s)
            torch.testing.assert_close(got, want)
