"""One test per validation rule: the exception type and the words of its message.

A reader who passes a bad value must learn which parameter, which value and
which rule, from convlab, not from a stack trace deep inside torch.
"""

import pytest
import torch

import convlab
from convlab import shapes

x4 = torch.zeros(1, 2, 5, 5)
w4 = torch.zeros(3, 2, 3, 3)


@pytest.mark.parametrize("name", ["kernel_size", "stride", "dilation"])
def test_non_positive_is_rejected(name):
    kw = dict(kernel_size=3, stride=1, dilation=1)
    kw[name] = 0
    with pytest.raises(ValueError, match=rf"{name}=0 is invalid: {name} must be positive \(>= 1\)"):
        shapes.conv_output_shape((5, 5), **kw)


def test_negative_padding_is_rejected():
    with pytest.raises(
        ValueError,
        match=r"padding=\(1, -1\) is invalid \(spatial dim 1\): "
        r"padding must be non-negative",
    ):
        convlab.unfold(x4, 3, padding=(1, -1))


def test_output_padding_must_be_smaller_than_stride_or_dilation():
    with pytest.raises(
        ValueError,
        match=r"output_padding=2 is invalid.*smaller than stride or "
        r"dilation.*max\(2, 1\) = 2",
    ):
        shapes.conv_transpose_output_shape((4, 4), 3, stride=2, output_padding=2)
    # dilation also allows it, as in torch
    assert shapes.conv_transpose_output_shape(4, 3, stride=1, output_padding=1, dilation=2) == (9,)
    with pytest.raises(ValueError, match="output_padding"):
        convlab.conv_transpose2d(x4, w4.transpose(0, 1), stride=2, output_padding=(0, 3))


def test_kernel_larger_than_padded_input():
    with pytest.raises(
        ValueError,
        match=r"kernel_size=5 with dilation=2 spans d\*\(k-1\)\+1 = 9 "
        r"pixels.*in \+ 2\*padding = 5 \+ 2 = 7",
    ):
        shapes.conv_output_shape((5, 5), 5, dilation=2, padding=1)
    with pytest.raises(ValueError, match="kernel larger than padded input"):
        convlab.conv2d(torch.zeros(1, 2, 2, 2), w4)


def test_tuple_of_wrong_length():
    with pytest.raises(
        ValueError,
        match=r"stride=\(1, 2, 3\) has 3 entries, but the input has "
        r"2 spatial dimensions",
    ):
        convlab.conv2d(x4, w4, stride=(1, 2, 3))


def test_parameters_disagree_on_rank():
    with pytest.raises(ValueError, match="disagree on the number of spatial dimensions"):
        shapes.conv_output_shape(5, (3, 3), stride=(1, 1, 1))


@pytest.mark.parametrize("value", [1.5, "2", None])
def test_non_integer_is_a_type_error(value):
    with pytest.raises((TypeError, ValueError), match=r"stride="):
        shapes.conv_output_shape((5, 5), 3, stride=value)
    with pytest.raises(TypeError, match=r"stride=1.5 has type float: stride must be an int"):
        shapes.conv_output_shape((5, 5), 3, stride=1.5)


def test_bool_is_a_type_error():
    with pytest.raises(TypeError, match=r"dilation=True is a bool"):
        convlab.unfold(x4, 3, dilation=True)


def test_same_padding_needs_stride_one():
    with pytest.raises(
        ValueError,
        match=r"padding='same' with stride=2: 'same' padding needs "
        r"stride=1",
    ):
        convlab.conv2d(x4, w4, stride=2, padding="same")


def test_unknown_padding_string():
    with pytest.raises(
        ValueError,
        match=r"padding='full' is not a known padding: use an int, "
        r"a tuple of ints, 'valid' or 'same'",
    ):
        convlab.conv2d(x4, w4, padding="full")
    with pytest.raises(ValueError, match="only padding takes a string"):
        shapes.conv_output_shape(5, "3")


@pytest.mark.parametrize("op", ["unfold", "fold", "conv_transpose"])
def test_padding_strings_where_they_mean_nothing(op):
    with pytest.raises(ValueError, match=r"padding='same' is not supported"):
        if op == "unfold":
            convlab.unfold(x4, 3, padding="same")
        elif op == "fold":
            convlab.fold(torch.zeros(1, 18, 9), (5, 5), 3, padding="same")
        else:
            convlab.conv_transpose2d(x4, w4.transpose(0, 1), padding="same")


def test_unknown_transpose_method():
    with pytest.raises(
        ValueError,
        match=r"method='im2col' is not a known method: use 'fold'.*"
        r"'rot90'",
    ):
        convlab.conv_transpose2d(x4, w4.transpose(0, 1), method="im2col")
    with pytest.raises(ValueError, match="method="):
        convlab.nn.ConvTranspose2d(2, 3, 3, method="gather")


def test_fold_forum_case_names_the_image_size():
    """../shared/seeds/000: output_size=(110, 110) for blocks of a 224x224 image."""
    cols = torch.zeros(1, 2 * 9, 12100)
    with pytest.raises(ValueError) as info:
        convlab.fold(cols, (110, 110), 3, dilation=2, stride=2)
    message = str(info.value)
    for words in [
        "L=12100",
        "= 2809",
        "223 or 224",
        "output_size=(224, 224)",
        "size of the image the blocks came from",
        "not the convolution's output size",
    ]:
        assert words in message


def test_fold_rows_not_a_multiple_of_the_kernel():
    with pytest.raises(
        ValueError,
        match=r"input has 10 rows.*not a positive multiple of "
        r"prod\(kernel_size\) = 9",
    ):
        convlab.fold(torch.zeros(1, 10, 9), (5, 5), 3)


def test_fold_input_rank():
    with pytest.raises(ValueError, match=r"fold needs 3-D \(N, C\*prod\(kernel_size\), L\)"):
        convlab.fold(torch.zeros(1, 1, 9, 9), (5, 5), 3)


def test_wrong_input_rank():
    with pytest.raises(ValueError, match=r"conv2d with 2 spatial dimensions needs 4-D"):
        convlab.conv2d(torch.zeros(5, 5), w4)


def test_wrong_weight_rank():
    with pytest.raises(ValueError, match=r"conv2d needs 4-D weight \(C_out, C_in/groups"):
        convlab.conv2d(x4, torch.zeros(3, 2, 3))


def test_not_a_tensor():
    with pytest.raises(TypeError, match=r"input must be a torch\.Tensor, got list"):
        convlab.unfold([[1, 2], [3, 4]], 1)
    with pytest.raises(TypeError, match=r"weight must be a torch\.Tensor, got ndarray"):
        import numpy as np

        convlab.conv2d(x4, np.zeros((3, 2, 3, 3)))


def test_dtype_mismatch():
    with pytest.raises(
        TypeError,
        match=r"weight has dtype torch.float64 but input has dtype "
        r"torch.float32",
    ):
        convlab.conv2d(x4, w4.double())


def test_groups_must_divide_channels():
    with pytest.raises(ValueError, match=r"groups=3 does not divide the input channels C_in=2"):
        convlab.conv2d(x4, w4, groups=3)
    with pytest.raises(ValueError, match=r"groups=2 does not divide the output channels C_out=3"):
        convlab.conv2d(x4, torch.zeros(3, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"groups=0 is invalid"):
        convlab.conv_transpose2d(x4, w4.transpose(0, 1), groups=0)


def test_weight_channels_must_match_input():
    with pytest.raises(ValueError, match=r"C_in/groups = 4 channels per group.*input has C_in=2"):
        convlab.conv2d(x4, torch.zeros(3, 4, 3, 3))
    with pytest.raises(ValueError, match=r"first dim 3 must equal the input channels C_in=2"):
        convlab.conv_transpose2d(x4, w4)


def test_bias_shape():
    with pytest.raises(ValueError, match=r"bias has shape \(2,\).*bias must have shape \(3,\)"):
        convlab.conv2d(x4, w4, torch.zeros(2))


def test_transposed_output_must_be_positive():
    with pytest.raises(ValueError, match=r"padding=3 is too large.*gives -2"):
        convlab.conv_transpose2d(torch.zeros(1, 2, 2, 2), torch.zeros(2, 1, 3, 3), padding=3)


def test_shape_functions_reject_bad_sizes():
    with pytest.raises(ValueError, match=r"input_shape=\(0, 5\) is invalid \(spatial dim 0\)"):
        shapes.conv_output_shape((0, 5), 1)
    with pytest.raises(ValueError, match=r"L_per_dim=0 is invalid"):
        shapes.fold_output_sizes_for(0, 3)
    with pytest.raises(ValueError, match="unevenly"):
        shapes.output_padding_for(8, 4, padding="same")
