"""convlab: the helper package of *Fold & Unfold*.

- ``convlab.shapes``: shape arithmetic with clear errors (chapters 1-4);
- ``convlab.ops`` (also ``convlab.<name>``): unfold, fold (images, as
  ``F.unfold``/``F.fold``), unfold1d/fold1d, unfold3d/fold3d, fold_divisor,
  conv1d/2d/3d and conv_transpose1d/2d/3d written from tensor views, with
  an explicit backward of unfold, fold and matrix products (chapter 5);
- ``convlab.nn``: drop-in ``Conv*d`` / ``ConvTranspose*d`` layers using them;
- ``convlab.aten``: which aten ops torch really ran (the exercise checkers
  and the tests use it to refuse torch's own convolution, im2col and col2im).
"""

from . import nn, ops, shapes
from .ops import (
    TRANSPOSE_METHODS,
    conv1d,
    conv2d,
    conv3d,
    conv_matrix,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    fold1d,
    fold3d,
    fold_divisor,
    unfold,
    unfold1d,
    unfold3d,
)
from .shapes import (
    conv_output_shape,
    conv_transpose_output_shape,
    fold_output_sizes_for,
    num_blocks,
    output_padding_for,
)

__version__ = "0.1.0"

__all__ = [
    "nn",
    "ops",
    "shapes",
    "TRANSPOSE_METHODS",
    "unfold",
    "unfold1d",
    "unfold3d",
    "fold",
    "fold1d",
    "fold3d",
    "fold_divisor",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv_matrix",
    "conv_output_shape",
    "conv_transpose_output_shape",
    "num_blocks",
    "output_padding_for",
    "fold_output_sizes_for",
]
