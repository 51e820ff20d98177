"""The lowered ops are written from views: they never run torch's convolution, im2col
or col2im, forward, backward or double backward.

Every convlab op runs under :func:`convlab.aten.record_aten_ops`, which records
the aten operators torch really dispatches (however they were reached:
``F.conv2d``, ``torch.conv2d``, a module, autograd's backward), and none of
them may be a convolution kernel, ``im2col`` (``F.unfold``) or ``col2im``
(``F.fold``). Only that forbidden set is asserted absent, so convlab's
internals may change freely. The last tests show that the recorder does
catch torch's ops, so these tests can fail.
"""

import pytest
import torch
import torch.nn.functional as F

import convlab
from convlab import aten

FORBIDDEN = aten.UNFOLD_OPS | aten.FOLD_OPS | aten.CONVOLUTION_OPS


def _randn(*shape):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def _record(fn, *tensors):
    """The aten ops dispatched by ``fn(*tensors)``, its backward and its double backward.

    The backward takes a cotangent that requires grad, so the double backward
    runs the derivative of every backward formula (with respect to the
    cotangent, and to the inputs where the first derivative depends on them).
    """
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    with aten.record_aten_ops() as ops:
        out = fn(*leaves)
        cotangent = torch.randn_like(out).requires_grad_(True)
        grads = torch.autograd.grad(out, leaves, cotangent, create_graph=True, allow_unused=True)
        assert any(g is not None for g in grads), "no gradient reached the inputs"
        total = sum((g * g).sum() for g in grads if g is not None)
        total.backward()
    assert cotangent.grad is not None
    return ops


def _assert_clean(ops):
    assert ops, "the recorder saw nothing: it is not recording"
    assert not ops & FORBIDDEN, f"convlab ran torch's {sorted(ops & FORBIDDEN)}"


x4 = _randn(2, 4, 7, 6)
w2 = _randn(6, 2, 3, 3)  # groups=2 for x4
CASES = {
    "unfold": (lambda x: convlab.unfold(x, (2, 3), dilation=2, padding=1, stride=2), x4),
    "unfold unbatched": (lambda x: convlab.unfold(x, 2, stride=(1, 2)), x4[0]),
    "unfold huge padding": (lambda x: convlab.unfold(x, 2, dilation=800, padding=400), x4[:1, :1]),
    "fold": (
        lambda c: convlab.fold(c, (7, 6), (2, 3), dilation=2, padding=1, stride=2),
        _randn(2, 4 * 6, 4 * 2),
    ),
    "fold huge padding": (
        lambda c: convlab.fold(c, (7, 6), 2, dilation=800, padding=400),
        _randn(1, 4, 7 * 6),
    ),
    "conv1d same": (
        lambda x, w, b: convlab.conv1d(x, w, b, padding="same", dilation=2, groups=2),
        x4[:, :, 0],
        w2[:, :, 0],
        _randn(6),
    ),
    "conv2d": (
        lambda x, w, b: convlab.conv2d(x, w, b, (2, 1), 1, (1, 2), 2),
        x4,
        w2,
        _randn(6),
    ),
    "conv2d valid unbatched": (
        lambda x, w: convlab.conv2d(x, w, None, 2, "valid"),
        x4[0],
        _randn(3, 4, 2, 3),
    ),
    "conv3d": (
        lambda x, w, b: convlab.conv3d(x, w, b, padding=1, stride=(1, 2, 1), groups=2),
        x4.unsqueeze(2),
        w2[:, :, None],
        _randn(6),
    ),
}
for method in convlab.TRANSPOSE_METHODS:
    CASES[f"conv_transpose1d {method}"] = (
        lambda x, w, b, m=method: convlab.conv_transpose1d(
            x, w, b, 3, 1, 2, groups=2, dilation=2, method=m
        ),
        x4[:, :, 0],
        _randn(4, 3, 3),
        _randn(6),
    )
    CASES[f"conv_transpose2d {method}"] = (
        lambda x, w, b, m=method: convlab.conv_transpose2d(
            x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=2, method=m
        ),
        x4,
        _randn(4, 3, 3, 2),
        _randn(6),
    )
    CASES[f"conv_transpose3d {method}"] = (
        lambda x, w, m=method: convlab.conv_transpose3d(
            x, w, None, (1, 2, 2), (0, 1, 0), (0, 1, 0), 1, 1, method=m
        ),
        x4.unsqueeze(2),
        _randn(4, 2, 2, 3, 2),
    )
    CASES[f"conv_transpose2d {method} huge stride"] = (
        lambda x, w, m=method: convlab.conv_transpose2d(x, w, None, stride=500, method=m),
        x4[:1, :2, :3, :3],
        _randn(2, 1, 2, 2),
    )


@pytest.mark.parametrize("name", CASES)
def test_every_op_runs_without_torch_convolutions(name):
    fn, *tensors = CASES[name]
    _assert_clean(_record(fn, *tensors))


@pytest.mark.parametrize("name", ["unfold1d", "unfold3d", "fold1d", "fold3d"])
def test_the_1d_and_3d_blocks_run_without_im2col_or_col2im(name):
    if not hasattr(convlab, name):
        pytest.skip(f"convlab has no {name}")
    op = getattr(convlab, name)
    n = 1 if "1d" in name else 3
    if name.startswith("unfold"):
        _assert_clean(
            _record(lambda x: op(x, 2, dilation=2, padding=1, stride=2), _randn(2, 3, *(5,) * n))
        )
    else:
        _assert_clean(_record(lambda c: op(c, (5,) * n, 2, stride=2), _randn(2, 3 * 2**n, 2**n)))


def test_fold_divisor_runs_without_torch_convolutions():
    with aten.record_aten_ops() as ops:
        convlab.fold_divisor((7, 6), 3, stride=2)
        convlab.fold_divisor((7, 6), (2, 3), dilation=2, padding=1, stride=(2, 1))
    _assert_clean(ops)


LAYERS = {
    "Conv1d": (lambda: convlab.nn.Conv1d(4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 9)),
    "Conv2d": (lambda: convlab.nn.Conv2d(4, 6, (2, 3), stride=(2, 1), padding=1), (2, 4, 7, 6)),
    "Conv2d reflect": (
        lambda: convlab.nn.Conv2d(4, 6, 3, padding="same", padding_mode="reflect"),
        (2, 4, 7, 6),
    ),
    "Conv2d circular": (
        lambda: convlab.nn.Conv2d(4, 6, 3, padding=1, padding_mode="circular"),
        (4, 7, 6),
    ),
    "Conv3d": (lambda: convlab.nn.Conv3d(4, 2, 2, padding=(0, 1, 1)), (1, 4, 3, 5, 4)),
}
for method in convlab.TRANSPOSE_METHODS:
    LAYERS[f"ConvTranspose1d {method}"] = (
        lambda m=method: convlab.nn.ConvTranspose1d(4, 6, 3, stride=2, groups=2, method=m),
        (2, 4, 5),
    )
    LAYERS[f"ConvTranspose2d {method}"] = (
        lambda m=method: convlab.nn.ConvTranspose2d(
            4, 6, (3, 2), stride=2, padding=1, output_padding=1, dilation=2, method=m
        ),
        (2, 4, 5, 4),
    )
    LAYERS[f"ConvTranspose3d {method}"] = (
        lambda m=method: convlab.nn.ConvTranspose3d(4, 2, 2, stride=(1, 2, 2), method=m),
        (1, 4, 3, 3, 2),
    )


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_runs_without_torch_convolutions(name):
    make, shape = LAYERS[name]
    torch.manual_seed(0)
    layer = make().double()
    with aten.record_aten_ops() as ops:
        out = layer(_randn(*shape).requires_grad_(True))
        (out * out).sum().backward()
    _assert_clean(ops)
    assert layer.weight.grad is not None and layer.bias.grad is not None


# ---------------------------------------------------------------------------
# the recorder sees torch's ops, so the tests above can fail
# ---------------------------------------------------------------------------
def _forward_ops(fn):
    with aten.record_aten_ops() as ops:
        fn()
    return ops


def test_the_recorder_catches_torch_convolutions_unfold_and_fold():
    x, w = _randn(1, 2, 5, 5), _randn(3, 2, 3, 3)
    caught = {
        "F.conv2d": _forward_ops(lambda: F.conv2d(x, w)),
        "torch.conv2d": _forward_ops(lambda: torch.conv2d(x, w, padding="same")),
        "F.conv1d": _forward_ops(lambda: F.conv1d(x[:, :, 0], w[:, :, 0])),
        "F.conv_transpose2d": _forward_ops(lambda: F.conv_transpose2d(x, w.transpose(0, 1))),
        "nn.Conv2d": _forward_ops(lambda: torch.nn.Conv2d(2, 3, 3).double()(x)),
        "F.unfold": _forward_ops(lambda: F.unfold(x, 2)),
        "nn.Unfold": _forward_ops(lambda: torch.nn.Unfold(2)(x)),
        "F.fold": _forward_ops(lambda: F.fold(_randn(1, 8, 16), (5, 5), 2)),
    }
    for how, ops in caught.items():
        assert ops & FORBIDDEN, f"{how} was not caught: {sorted(ops)}"
    assert aten.calls(caught["F.conv2d"], "convolution") == ["convolution"]
    assert aten.calls(caught["F.unfold"], "unfold") == ["im2col"]
    assert aten.calls(caught["F.fold"], "fold") == ["col2im"]
    # Tensor.unfold, the strided view convlab is built on, is not im2col
    assert not _forward_ops(lambda: x.unfold(2, 2, 1)) & FORBIDDEN


def test_the_recorder_catches_a_convolution_backward():
    x = _randn(1, 2, 5, 5).requires_grad_(True)
    y = F.conv2d(x, _randn(3, 2, 3, 3))  # forward outside the recording
    with aten.record_aten_ops() as ops:
        y.sum().backward()
    assert aten.calls(ops, "convolution_backward") == ["convolution_backward"]
    assert ops & FORBIDDEN
    cols = F.unfold(x, 2)
    with aten.record_aten_ops() as ops:
        cols.sum().backward()  # the backward of im2col is col2im
    assert aten.calls(ops, "fold") == ["col2im"]
    with aten.record_aten_ops() as ops:
        torch.nn.grad.conv2d_input(x.shape, _randn(3, 2, 3, 3), _randn(1, 3, 3, 3))
    assert "convolution_backward" in ops


def test_the_recorder_catches_a_convolution_in_a_double_backward():
    # unfold's backward (col2im) is linear: only the double backward reruns im2col
    ops = _record(lambda x: F.fold(x, (4, 4), 2), _randn(1, 4, 9))
    assert {"col2im", "im2col"} <= ops


def test_the_convolution_set_names_every_aten_convolution():
    try:
        schemas = torch._C._jit_get_all_schemas()
    except AttributeError:  # pragma: no cover - a private torch API
        pytest.skip("torch._C._jit_get_all_schemas is gone")
    names = {str(s.name).split("::", 1)[1] for s in schemas if str(s.name).startswith("aten::")}
    convolutions = {n for n in names if "conv" in n and "convert" not in n}
    assert len(convolutions) > 20
    assert convolutions <= aten.CONVOLUTION_OPS, sorted(convolutions - aten.CONVOLUTION_OPS)
    assert {"im2col", "col2im"} <= names
    assert "unfold" not in FORBIDDEN  # Tensor.unfold is a view
