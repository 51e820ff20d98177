"""The general sentences of Chapter 1, Sliding blocks (`unfold`), each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F
from claims_index import notebook_text

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


@pytest.mark.parametrize("n", [1, 2, 5, 7, 12, 16])
def test_block_count_is_a_product_of_floor_plus_one(n):
    """Chapter 1, Summary: "$L = \\prod_i \\left( \\lfloor ... \\rfloor + 1 \\right)$": the +1
    belongs to each factor (read as (product of floors) + 1 it is wrong: 11882 for the
    forum's 224 x 224 case, not 12100)."""
    assert r"L = \prod_i \left( \lfloor" in notebook_text("01_sliding_blocks.ipynb")
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
