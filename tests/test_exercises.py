"""Every checker passes a correct answer and catches deliberately wrong ones."""

import torch
import torch.nn.functional as F

import convlab
from convlab import exercises as ex


def _stub(*args, **kwargs):
    raise NotImplementedError


def test_num_blocks_checker():
    def right(input_size, kernel_size, stride, padding, dilation):
        return convlab.num_blocks(input_size, kernel_size, dilation, padding, stride)

    def no_dilation(input_size, kernel_size, stride, padding, dilation):
        return convlab.num_blocks(input_size, kernel_size, 1, padding, stride)

    assert ex.check_num_blocks(right)
    report = ex.check_num_blocks(no_dilation)
    assert not report and "columns F.unfold returns" in repr(report) and "dilation=" in repr(report)
    stub = ex.check_num_blocks(_stub)
    assert not stub and repr(stub).startswith("NOT YET")


def test_unfold_checker_names_shape_value_and_gradient_failures():
    assert ex.check_unfold(convlab.unfold)
    assert ex.check_unfold(F.unfold)
    shape = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: F.unfold(
            x, kernel_size, 1, padding, stride
        )
    )
    assert not shape and "shape: expected" in repr(shape)
    value = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: (
            F.unfold(x, kernel_size, dilation, padding, stride) * 1.01
        )
    )
    assert not value and "values: largest difference" in repr(value)

    class WrongGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, cols):
            return cols.clone()

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    grad = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: WrongGrad.apply(
            F.unfold(x, kernel_size, dilation, padding, stride)
        )
    )
    assert not grad and "gradient with respect to argument 0" in repr(grad)
    crash = ex.check_unfold(lambda x, **kw: x[99])
    assert not crash and "it raised IndexError" in repr(crash)


def test_fold_checker():
    assert ex.check_fold(convlab.fold)
    wrong = ex.check_fold(
        lambda cols, output_size, kernel_size, dilation, padding, stride: (
            F.fold(cols, output_size, kernel_size, dilation, padding, stride) / 2
        )
    )
    assert not wrong


def test_conv2d_checker_with_groups():
    assert ex.check_conv2d(convlab.conv2d, groups=True)
    no_bias = ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: convlab.conv2d(
            x, w, None, stride, padding, dilation, groups
        )
    )
    assert not no_bias and "values" in repr(no_bias)
    ignores_groups = ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: convlab.conv2d(
            x, w.repeat(1, groups, 1, 1), b, stride, padding, dilation, 1
        ),
        groups=True,
    )
    assert not ignores_groups


def test_conv_transpose2d_checker():
    for method in convlab.TRANSPOSE_METHODS:
        assert ex.check_conv_transpose2d(
            lambda *a, method=method, **kw: convlab.conv_transpose2d(*a, **kw, method=method)
        )
    assert ex.check_conv_transpose2d(F.conv_transpose2d, level="stride1")

    def no_flip(x, weight, bias, stride, padding, output_padding, groups, dilation):
        # the forum's trap: a convolution with transposed, unrotated weights
        k = weight.shape[-2:]
        return F.conv2d(x, weight.transpose(0, 1), bias, 1, (k[0] - 1, k[1] - 1))

    wrong = ex.check_conv_transpose2d(no_flip, level="stride1")
    assert not wrong and "values" in repr(wrong)


def test_parameters_for_L_checker():
    def right(input_size, L):
        # one block row; L blocks along the width: padding makes room when needed
        H, W = input_size
        p = max(0, -(-(L - W) // 2))
        return dict(kernel_size=(H, W + 2 * p - L + 1), stride=1, padding=(0, p), dilation=1)

    assert ex.check_parameters_for_L(right)
    off_by_one = ex.check_parameters_for_L(
        lambda input_size, L: dict(kernel_size=1, stride=1, padding=0, dilation=1)
    )
    assert not off_by_one and "F.unfold gives L=" in repr(off_by_one)
    illegal = ex.check_parameters_for_L(
        lambda input_size, L: dict(kernel_size=99, stride=1, padding=0, dilation=1)
    )
    assert not illegal and "F.unfold rejects" in repr(illegal)
    assert not ex.check_parameters_for_L(lambda input_size, L: (1, 1, 0, 1))


def test_divisor_and_invertible_checkers():
    assert ex.check_divisor(
        lambda output_size, kernel_size, dilation, padding, stride: convlab.fold_divisor(
            output_size, kernel_size, dilation, padding, stride, dtype=torch.float64
        )
    )
    wrong = ex.check_divisor(
        lambda output_size, kernel_size, dilation, padding, stride: convlab.fold_divisor(
            output_size, kernel_size, 1, padding, stride, dtype=torch.float64
        )
    )
    assert not wrong

    def right(input_size, kernel_size, stride, padding, dilation):
        return bool(
            (convlab.fold_divisor(input_size, kernel_size, dilation, padding, stride) > 0).all()
        )

    def naive(input_size, kernel_size, stride, padding, dilation):
        return all(s <= k for s, k in zip(stride, kernel_size))  # forgets dilation and floor

    assert ex.check_invertible(right)
    assert not ex.check_invertible(naive)


def test_patch_average_checker():
    def right(x, kernel_size, stride):
        N, C, H, W = x.shape
        cols = convlab.unfold(x, kernel_size, stride=stride)
        K = cols.shape[1] // C
        means = cols.view(N, C, K, -1).mean(2, keepdim=True).expand(-1, -1, K, -1)
        summed = convlab.fold(means.reshape(N, C * K, -1), (H, W), kernel_size, stride=stride)
        divisor = convlab.fold_divisor((H, W), kernel_size, stride=stride, dtype=x.dtype)
        return torch.where(divisor > 0, summed / divisor.clamp(min=1), x)

    def forgets_uncovered(x, kernel_size, stride):
        out = right(x, kernel_size, stride)
        divisor = convlab.fold_divisor(x.shape[2:], kernel_size, stride=stride)
        return torch.where(divisor > 0, out, torch.zeros_like(out))

    assert ex.check_patch_average(right)
    assert not ex.check_patch_average(forgets_uncovered)


def test_conv_transpose2d_levels_and_bad_level():
    import pytest

    for level in ("stride1", "stride", "all"):
        assert ex.check_conv_transpose2d(F.conv_transpose2d, level=level)
    with pytest.raises(ValueError, match="is not a level"):
        ex.check_conv_transpose2d(F.conv_transpose2d, level="easy")

    def global_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
        # the groups trap: swap in/out channels globally instead of within each group
        C_in, C_out_g = weight.shape[:2]
        w = (
            weight.transpose(0, 1).reshape(C_in, C_out_g, *weight.shape[2:])
            if groups > 1
            else weight
        )
        return F.conv_transpose2d(x, w, bias, stride, padding, output_padding, groups, dilation)

    wrong = ex.check_conv_transpose2d(global_transpose, level="all", cases=40)
    assert not wrong and "values" in repr(wrong)


def test_conv_module_checker():
    import torch.nn as nn

    class Right(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
            super().__init__()
            self.weight = nn.Parameter(
                torch.empty(out_channels, in_channels, kernel_size, kernel_size)
            )
            self.kw = dict(stride=stride, padding=padding, dilation=dilation)

        def forward(self, x):
            return convlab.conv2d(x, self.weight, None, **self.kw)

    class ForumBug(Right):  # unfold without stride and dilation
        def forward(self, x):
            H, W = x.shape[2:]
            k = self.weight.shape[-1]
            s, p, d = self.kw["stride"], self.kw["padding"], self.kw["dilation"]
            h = (H + 2 * p - d * (k - 1) - 1) // s + 1
            w = (W + 2 * p - d * (k - 1) - 1) // s + 1
            cols = F.unfold(x, k, padding=p)
            out = self.weight.view(self.weight.shape[0], -1) @ cols
            return F.fold(out, (h, w), kernel_size=1)

    assert ex.check_conv_module(Right)
    bug = ex.check_conv_module(ForumBug)
    assert not bug and "forward raised RuntimeError" in repr(bug)


def test_size_checkers():
    def conv_size(size, kernel_size, stride, padding, dilation):
        return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1

    def forum_002(size, kernel_size, stride, padding, dilation):
        return int((size + 2 * padding - (kernel_size - 1) - 1) / stride + 1)

    assert ex.check_conv_output_size(conv_size)
    assert not ex.check_conv_output_size(forum_002)

    def output_padding(size, kernel_size, stride, padding, dilation):
        return (size + 2 * padding - dilation * (kernel_size - 1) - 1) % stride

    assert ex.check_output_padding(output_padding)
    assert not ex.check_output_padding(lambda size, kernel_size, stride, padding, dilation: 0)
    assert not ex.check_output_padding(lambda **kw: 99)


def test_output_shape_checker():
    def right(x_shape, weight_shape, stride, padding, dilation, groups):
        N, C_in = x_shape[:2]
        C_out, per_group = weight_shape[:2]
        if C_in % groups or per_group * groups != C_in or C_out % groups:
            raise ValueError("channels do not match groups")
        size = convlab.conv_output_shape(x_shape[2:], weight_shape[2:], stride, padding, dilation)
        return (N, C_out, *size)

    def never_raises(x_shape, weight_shape, stride, padding, dilation, groups):
        size = convlab.conv_output_shape(x_shape[2:], weight_shape[2:], stride, padding, dilation)
        return (x_shape[0], weight_shape[0], *size)

    assert ex.check_output_shape(right)
    report = ex.check_output_shape(never_raises)
    assert not report and "expected a ValueError" in repr(report)


def test_input_grad_checker():
    def right(grad_y, weight, input_size, stride, padding, dilation, groups):
        return torch.nn.grad.conv2d_input(
            (grad_y.shape[0], weight.shape[1] * groups, *input_size),
            weight,
            grad_y,
            stride,
            padding,
            dilation,
            groups,
        )

    def no_output_padding(grad_y, weight, input_size, stride, padding, dilation, groups):
        return F.conv_transpose2d(grad_y, weight, None, stride, padding, 0, groups, dilation)

    assert ex.check_input_grad(right)
    assert not ex.check_input_grad(no_output_padding)
