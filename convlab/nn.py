"""Drop-in ``torch.nn`` convolution layers whose forward runs convlab's lowered ops.

Each class subclasses the torch layer of the same name: the constructor, the
parameters, ``state_dict`` and ``repr`` are torch's own, so a checkpoint moves
freely between the two. Only the arithmetic differs: ``Conv*d`` computes
unfold -> matmul -> view, ``ConvTranspose*d`` computes matmul -> fold
(``method="fold"``, the default) or the rotated-kernel convolution
(``method="rot90"``). This is the forum's ``MyConv2d`` done right: stride,
padding (every ``padding_mode``), dilation, groups and bias all honoured.

Taught in chapter 3 (``Conv*d``) and chapter 4 (``ConvTranspose*d``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import ops

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _LoweredConv:
    """Mixin: ``_conv_forward`` through ``convlab.ops``, padding modes as in torch."""

    _op = None  # set by each subclass

    def _conv_forward(self, input, weight, bias):
        padding = self.padding
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = 0
        return type(self)._op(input, weight, bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_LoweredConv, torch.nn.Conv1d):
    """``torch.nn.Conv1d`` computed as unfold -> matmul -> view (see ``convlab.conv1d``):
    the same constructor and ``state_dict`` as torch's (chapter 3).

    ``out = (weight.view(C_out, -1) @ unfold(x)).view(N, C_out, L_out) + bias``.
    """

    _op = staticmethod(ops.conv1d)


class Conv2d(_LoweredConv, torch.nn.Conv2d):
    """``torch.nn.Conv2d`` computed as unfold -> matmul -> view (see ``convlab.conv2d``):
    the same constructor and ``state_dict`` as torch's (chapter 3).

    ``out = (weight.view(C_out, -1) @ unfold(x)).view(N, C_out, H_out, W_out) + bias``.
    """

    _op = staticmethod(ops.conv2d)


class Conv3d(_LoweredConv, torch.nn.Conv3d):
    """``torch.nn.Conv3d`` computed as unfold -> matmul -> view (see ``convlab.conv3d``):
    the same constructor and ``state_dict`` as torch's (chapter 3).

    ``out = (weight.view(C_out, -1) @ unfold(x)).view(N, C_out, D_out, H_out, W_out) + bias``.
    """

    _op = staticmethod(ops.conv3d)


class _LoweredConvTranspose:
    """Mixin: forward through ``convlab.ops.conv_transpose*d`` with a ``method``."""

    _op = None
    _n = None

    def __init__(self, *args, method="fold", **kwargs):
        ops._check_method(method)
        super().__init__(*args, **kwargs)
        self.method = method

    def forward(self, input, output_size=None):
        if self.padding_mode != "zeros":
            raise ValueError(
                f"padding_mode={self.padding_mode!r} is not supported: {type(self).__name__} "
                "(like torch's) only supports padding_mode='zeros'"
            )
        output_padding = self._output_padding(
            input,
            output_size,
            self.stride,
            self.padding,
            self.kernel_size,
            self._n,
            self.dilation,
        )
        return type(self)._op(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
            method=self.method,
        )

    def extra_repr(self):
        return super().extra_repr() + f", method={self.method!r}"


class ConvTranspose1d(_LoweredConvTranspose, torch.nn.ConvTranspose1d):
    """``torch.nn.ConvTranspose1d`` through ``convlab.conv_transpose1d`` (chapter 4).

    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``;
    ``method`` is ``"fold"`` (col2im, the default) or ``"rot90"``.
    """

    _op = staticmethod(ops.conv_transpose1d)
    _n = 1


class ConvTranspose2d(_LoweredConvTranspose, torch.nn.ConvTranspose2d):
    """``torch.nn.ConvTranspose2d`` through ``convlab.conv_transpose2d`` (chapter 4).

    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``;
    ``method`` is ``"fold"`` (col2im, the default) or ``"rot90"``.
    """

    _op = staticmethod(ops.conv_transpose2d)
    _n = 2


class ConvTranspose3d(_LoweredConvTranspose, torch.nn.ConvTranspose3d):
    """``torch.nn.ConvTranspose3d`` through ``convlab.conv_transpose3d`` (chapter 4).

    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1`` per dim;
    ``method`` is ``"fold"`` (col2im, the default) or ``"rot90"``.
    """

    _op = staticmethod(ops.conv_transpose3d)
    _n = 3
