"""Property tests: convlab's ops equal torch.nn.functional on random legal parameters.

Each property runs the ``ci`` profile's 2,000 examples per op and spatial
rank (``--hypothesis-profile=thorough``: 10,000). Every example checks float64
(atol 1e-10) and float32; conv and transposed-conv examples also check the
gradients with respect to input, weight and bias in float64. Each example
also draws how padding is applied (``ops._FORCE_PATH``: by copy, by index, or
convlab's own choice), so both code paths meet every case.
"""

import contextlib
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_and_channels, sliding_params, transpose_params

import convlab

F64 = dict(atol=1e-10, rtol=0)
F32 = dict(atol=1e-4, rtol=1e-4)
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TCONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
OURS_CONV = {1: convlab.conv1d, 2: convlab.conv2d, 3: convlab.conv3d}
OURS_TCONV = {1: convlab.conv_transpose1d, 2: convlab.conv_transpose2d, 3: convlab.conv_transpose3d}
OURS_UNFOLD = {1: convlab.unfold1d, 2: convlab.unfold, 3: convlab.unfold3d}
OURS_FOLD = {1: convlab.fold1d, 2: convlab.fold, 3: convlab.fold3d}


@contextlib.contextmanager
def padding_path(data):
    """Pad by copy, by index, or as convlab chooses (drawn per example)."""
    saved = convlab.ops._FORCE_PATH
    convlab.ops._FORCE_PATH = data.draw(st.sampled_from([None, "copy", "index"]), label="path")
    try:
        yield
    finally:
        convlab.ops._FORCE_PATH = saved


def _tuple(v, n):
    return tuple(v) if isinstance(v, tuple) else (v,) * n


def _eye_kernel(k, dtype):
    """One-hot kernels: conv with them *is* unfold (an independent reference)."""
    K = math.prod(k)
    return torch.eye(K, dtype=dtype).reshape(K, 1, *k)


def unfold_reference(x, k, d, p, s):
    """torch's own unfold for 2-D; one-hot-kernel convolution for any rank."""
    n = len(k)
    N, C = x.shape[:2]
    cols = CONV[n](
        x.reshape(N * C, 1, *x.shape[2:]), _eye_kernel(k, x.dtype), stride=s, padding=p, dilation=d
    )
    return cols.reshape(N, C * math.prod(k), math.prod(cols.shape[2:]))


def fold_reference(cols, size, k, d, p, s):
    """torch's transposed one-hot convolution (the adjoint of unfold), any rank:
    scatter onto the padded image, then crop the padding."""
    n = len(k)
    N, K = cols.shape[0], math.prod(k)
    C = cols.shape[1] // K
    blocks = convlab.conv_output_shape(size, k, stride=s, padding=p, dilation=d)
    padded = tuple(size[i] + 2 * p[i] for i in range(n))
    reached = convlab.conv_transpose_output_shape(blocks, k, stride=s, dilation=d)
    op = tuple(padded[i] - reached[i] for i in range(n))
    out = TCONV[n](
        cols.reshape(N * C, K, *blocks),
        _eye_kernel(k, cols.dtype),
        stride=s,
        output_padding=op,
        dilation=d,
    )
    crop = tuple(slice(p[i], p[i] + size[i]) for i in range(n))
    return out[(slice(None), slice(None)) + crop].reshape(N, C, *size)


def _batched_shape(N, batched, *rest):
    return (N, *rest) if batched else tuple(rest)


# --------------------------------------------------------------------------
# unfold
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
@given(data=st.data())
def test_unfold_matches_torch(n, data):
    prm = data.draw(sliding_params(n))
    N = data.draw(st.sampled_from([0, 1, 2]))
    batched = data.draw(st.booleans()) or N != 1
    C = data.draw(st.integers(1, 3))
    k, d, s, p = (_tuple(prm[key], n) for key in ("kernel_size", "dilation", "stride", "padding"))
    kw = dict(
        kernel_size=prm["kernel_size"],
        dilation=prm["dilation"],
        padding=prm["padding"],
        stride=prm["stride"],
    )
    x = torch.randn(N, C, *prm["size"], dtype=torch.float64)
    expected = unfold_reference(x, k, d, p, s)
    assert expected.shape[2] == convlab.num_blocks(prm["size"], k, dilation=d, padding=p, stride=s)
    if n == 2:
        torch.testing.assert_close(F.unfold(x, **kw), expected, **F64)
    unfold = OURS_UNFOLD[n]
    with padding_path(data):
        got = unfold(x if batched else x[0], **kw)
        torch.testing.assert_close(got, expected if batched else expected[0], **F64)
        # float32, and integer / bool dtypes (F.unfold has no integer kernel on CPU)
        torch.testing.assert_close(unfold(x.float(), **kw), expected.float(), **F32)
        for dtype in (torch.int64, torch.int32, torch.uint8, torch.bool):
            xi = (x * 3).round().abs().to(dtype)
            ref = unfold_reference(xi.double(), k, d, p, s).to(dtype)
            assert torch.equal(unfold(xi, **kw), ref)


# --------------------------------------------------------------------------
# fold
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
@given(data=st.data())
def test_fold_matches_torch(n, data):
    prm = data.draw(sliding_params(n))
    N = data.draw(st.sampled_from([0, 1, 2]))
    batched = data.draw(st.booleans()) or N != 1
    C = data.draw(st.integers(1, 3))
    size = prm["size"]
    k, d, s, p = (_tuple(prm[key], n) for key in ("kernel_size", "dilation", "stride", "padding"))
    L = convlab.num_blocks(size, k, dilation=d, padding=p, stride=s)
    cols = torch.randn(N, C * math.prod(k), L, dtype=torch.float64)
    expected = fold_reference(cols, size, k, d, p, s)
    kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    if n == 2:
        torch.testing.assert_close(F.fold(cols, size, **kw), expected, **F64)
        kw = dict(
            kernel_size=prm["kernel_size"],
            dilation=prm["dilation"],
            padding=prm["padding"],
            stride=prm["stride"],
        )
    fold, unfold = OURS_FOLD[n], OURS_UNFOLD[n]
    with padding_path(data):
        got = fold(cols if batched else cols[0], size, **kw)
        torch.testing.assert_close(got, expected if batched else expected[0], **F64)
        torch.testing.assert_close(fold(cols.float(), size, **kw), expected.float(), **F32)
        # the documented identity fold(unfold(x)) == divisor * x
        x = torch.randn(N, C, *size, dtype=torch.float64)
        divisor = convlab.fold_divisor(size, k, d, p, s, dtype=torch.float64)
        torch.testing.assert_close(fold(unfold(x, **kw), size, **kw), divisor * x, **F64)


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------
def _grads(out, inputs, grad_out):
    wanted = [t for t in inputs if t is not None]
    return torch.autograd.grad(out, wanted, grad_out, allow_unused=False)


@pytest.mark.parametrize("n", [1, 2, 3])
@given(data=st.data())
def test_conv_matches_torch(n, data):
    prm = data.draw(sliding_params(n, allow_strings=True))
    bc = data.draw(batch_and_channels())
    k = _tuple(prm["kernel_size"], n)
    g = bc["groups"]
    x = torch.randn(
        _batched_shape(bc["N"], bc["batched"], bc["C_in"], *prm["size"]),
        dtype=torch.float64,
        requires_grad=True,
    )
    weight = torch.randn(bc["C_out"], bc["C_in"] // g, *k, dtype=torch.float64, requires_grad=True)
    bias = (
        torch.randn(bc["C_out"], dtype=torch.float64, requires_grad=True)
        if data.draw(st.booleans())
        else None
    )
    args = (prm["stride"], prm["padding"], prm["dilation"], g)
    expected = CONV[n](x, weight, bias, *args)
    with padding_path(data):
        got = OURS_CONV[n](x, weight, bias, *args)
    torch.testing.assert_close(got, expected, **F64)
    grad_out = torch.randn_like(expected)
    for ours, theirs in zip(
        _grads(got, (x, weight, bias), grad_out), _grads(expected, (x, weight, bias), grad_out)
    ):
        torch.testing.assert_close(ours, theirs, **F64)
    with torch.no_grad():
        b32 = None if bias is None else bias.float()
        torch.testing.assert_close(
            OURS_CONV[n](x.float(), weight.float(), b32, *args),
            CONV[n](x.float(), weight.float(), b32, *args),
            **F32,
        )


# --------------------------------------------------------------------------
# transposed convolution, both methods
# --------------------------------------------------------------------------
@pytest.mark.parametrize("method", convlab.TRANSPOSE_METHODS)
@pytest.mark.parametrize("n", [1, 2, 3])
@given(data=st.data())
def test_conv_transpose_matches_torch(n, method, data):
    prm = data.draw(transpose_params(n))
    bc = data.draw(batch_and_channels())
    g = bc["groups"]
    x = torch.randn(
        _batched_shape(bc["N"], bc["batched"], bc["C_in"], *prm["size"]),
        dtype=torch.float64,
        requires_grad=True,
    )
    weight = torch.randn(
        bc["C_in"], bc["C_out"] // g, *prm["kernel_size"], dtype=torch.float64, requires_grad=True
    )
    bias = (
        torch.randn(bc["C_out"], dtype=torch.float64, requires_grad=True)
        if data.draw(st.booleans())
        else None
    )
    args = (prm["stride"], prm["padding"], prm["output_padding"], g, prm["dilation"])
    expected = TCONV[n](x, weight, bias, *args)
    with padding_path(data):
        got = OURS_TCONV[n](x, weight, bias, *args, method=method)
    assert got.shape[-n:] == convlab.conv_transpose_output_shape(
        prm["size"],
        prm["kernel_size"],
        stride=prm["stride"],
        padding=prm["padding"],
        output_padding=prm["output_padding"],
        dilation=prm["dilation"],
    )
    torch.testing.assert_close(got, expected, **F64)
    grad_out = torch.randn_like(expected)
    for ours, theirs in zip(
        _grads(got, (x, weight, bias), grad_out), _grads(expected, (x, weight, bias), grad_out)
    ):
        torch.testing.assert_close(ours, theirs, **F64)
    with torch.no_grad():
        b32 = None if bias is None else bias.float()
        torch.testing.assert_close(
            OURS_TCONV[n](x.float(), weight.float(), b32, *args, method=method),
            TCONV[n](x.float(), weight.float(), b32, *args),
            **F32,
        )
