"""The lowered ops are written from views: they never call torch's own conv/unfold/fold."""

import pytest
import torch
import torch.nn.functional as F

import convlab

FORBIDDEN_F = [
    "unfold",
    "fold",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]
FORBIDDEN_TORCH = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "convolution",
    "im2col",
    "col2im",
]


@pytest.fixture
def no_torch_conv(monkeypatch):
    def trap(name):
        def forbidden(*args, **kwargs):
            raise AssertionError(f"convlab called torch's {name}")

        return forbidden

    for name in FORBIDDEN_F:
        monkeypatch.setattr(F, name, trap(f"F.{name}"))
    for name in FORBIDDEN_TORCH:
        if hasattr(torch, name):
            monkeypatch.setattr(torch, name, trap(f"torch.{name}"))
    for name in ("im2col", "col2im"):
        if hasattr(torch._C._nn, name):
            monkeypatch.setattr(torch._C._nn, name, trap(f"torch._C._nn.{name}"))


def test_every_op_runs_without_torch_convolutions(no_torch_conv):
    x = torch.randn(2, 4, 7, 6, requires_grad=True)
    cols = convlab.unfold(x, (2, 3), dilation=2, padding=1, stride=2)
    convlab.fold(cols, (7, 6), (2, 3), dilation=2, padding=1, stride=2).sum().backward()
    convlab.fold_divisor((7, 6), 3, stride=2)
    w = torch.randn(6, 2, 3, 3, requires_grad=True)
    convlab.conv2d(x, w, None, 2, "valid", 1, 2).sum().backward()
    convlab.conv1d(x[:, :, 0], w[:, :, 0], padding="same", groups=2).sum().backward()
    convlab.conv3d(x.unsqueeze(2), w[:, :, None], padding=1, groups=2).sum().backward()
    for method in convlab.TRANSPOSE_METHODS:
        convlab.conv_transpose2d(
            x,
            w.transpose(0, 1).reshape(6, 2, 3, 3)[:4],
            stride=2,
            padding=1,
            output_padding=1,
            groups=2,
            dilation=2,
            method=method,
        ).sum().backward()


def test_the_trap_works(no_torch_conv):
    with pytest.raises(AssertionError, match=r"convlab called torch's F\.conv2d"):
        F.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 1, 1))
