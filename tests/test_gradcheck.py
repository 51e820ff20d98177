"""torch.autograd.gradcheck (numerical vs analytical gradients) in float64.

These compare against finite differences, not against torch's convolution,
so they would catch a wrong gradient even where torch and convlab agreed.
"""

import pytest
import torch
from torch.autograd import gradcheck

import convlab

torch.manual_seed(0)


def _t(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


CONV_CASES = [
    # (n, input shape, weight shape, kwargs)
    (1, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (2, (2, 3, 7, 6), (4, 3, 2, 3), dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2))),
    (2, (3, 6, 5), (6, 1, 3, 3), dict(padding="same", groups=3)),  # unbatched, depthwise
    (3, (1, 2, 4, 5, 4), (2, 1, 2, 3, 2), dict(stride=(1, 2, 1), padding=1, groups=2)),
]


@pytest.mark.parametrize("n,xs,ws,kw", CONV_CASES)
def test_conv_gradcheck(n, xs, ws, kw):
    op = {1: convlab.conv1d, 2: convlab.conv2d, 3: convlab.conv3d}[n]
    assert gradcheck(lambda x, w, b: op(x, w, b, **kw), (_t(*xs), _t(*ws), _t(ws[0])))


TCONV_CASES = [
    (1, (2, 4, 5), (4, 3, 3), dict(stride=3, padding=2, output_padding=1, groups=2, dilation=2)),
    (2, (2, 2, 4, 3), (2, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    (2, (4, 3, 3), (4, 1, 4, 4), dict(stride=2, padding=1, groups=2, dilation=(1, 2))),
    (
        3,
        (1, 2, 3, 2, 3),
        (2, 2, 2, 3, 2),
        dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 0)),
    ),
]


@pytest.mark.parametrize("method", convlab.TRANSPOSE_METHODS)
@pytest.mark.parametrize("n,xs,ws,kw", TCONV_CASES)
def test_conv_transpose_gradcheck(n, xs, ws, kw, method):
    op = {1: convlab.conv_transpose1d, 2: convlab.conv_transpose2d, 3: convlab.conv_transpose3d}[n]
    C_out = ws[1] * kw.get("groups", 1)
    assert gradcheck(
        lambda x, w, b: op(x, w, b, **kw, method=method), (_t(*xs), _t(*ws), _t(C_out))
    )


def test_unfold_and_fold_gradcheck():
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    assert gradcheck(lambda x: convlab.unfold(x, **kw), (_t(2, 2, 5, 6),))
    L = convlab.num_blocks((5, 6), **kw)
    assert gradcheck(lambda c: convlab.fold(c, (5, 6), **kw), (_t(2, 12, L),))
