"""Inputs a reader will try: every one either matches torch or gets a clear error.

- a tuple parameter of the wrong length never changes how the input is read;
- empty tensors: torch's result where torch gives one, else a clear error;
- huge padding or dilation reads only what the blocks read;
- ``conv_matrix`` follows its weight's device and its documented identity;
- the shape helpers take every parameter after ``kernel_size`` by keyword.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

import convlab
from convlab import shapes

# --------------------------------------------------------------------------
# the number of spatial dims is the input's, never a parameter's
# --------------------------------------------------------------------------
X4 = torch.randn(2, 4, 9, 8)


@pytest.mark.parametrize("name", ["padding", "stride", "dilation", "kernel_size"])
def test_unfold_tuple_of_the_wrong_length_is_an_error_naming_it(name):
    kw = dict(kernel_size=3, padding=1)
    kw[name] = (1, 1, 1) if name != "kernel_size" else (3, 3, 3)
    with pytest.raises(ValueError, match=rf"^{name}=\(.*\) has 3 entries, but the input has 2"):
        convlab.unfold(X4, **kw)
    with pytest.raises(RuntimeError):
        F.unfold(X4, **kw)  # torch refuses too


@pytest.mark.parametrize("name", ["padding", "stride", "dilation", "kernel_size", "output_size"])
def test_fold_tuple_of_the_wrong_length_is_an_error_naming_it(name):
    kw = dict(output_size=(5, 6), kernel_size=3)
    kw[name] = (1, 1, 1) if name not in ("kernel_size", "output_size") else (3, 3, 3)
    with pytest.raises(ValueError, match=rf"^{name}=\(.*\) has 3 entries"):
        convlab.fold(torch.randn(2, 36, 12), **kw)


def test_a_tuple_of_one_is_replicated_as_the_docstring_promises():
    with pytest.raises(RuntimeError, match="expected kernel_size equals to 2"):
        F.unfold(X4, (3,))  # chapter 1 says torch 2.13 refuses it
    for kw in (dict(kernel_size=(3,)), dict(kernel_size=3, padding=(1,), stride=(2,))):
        full = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
        assert torch.equal(convlab.unfold(X4, **kw), F.unfold(X4, **full))
    square = torch.randn(2, 4, 9, 9)
    cols = F.unfold(square, 3, padding=1)
    assert torch.equal(
        convlab.fold(cols, (9,), (3,), padding=(1,)), F.fold(cols, (9, 9), 3, padding=1)
    )


@pytest.mark.parametrize(
    "shape, fname",
    [
        ((9,), "unfold"),
        ((4, 9), "unfold"),
        ((2, 3, 4, 9, 8), "unfold"),
        ((1, 2, 3, 4, 5, 6), "unfold"),
    ],
)
def test_unfold_takes_exactly_what_F_unfold_takes(shape, fname):
    with pytest.raises(ValueError, match=r"^input has shape .*unfold needs 4-D \(N, C, H, W\)"):
        convlab.unfold(torch.randn(shape), 2)


def test_the_message_points_to_the_function_for_that_rank():
    with pytest.raises(ValueError, match=r"3 spatial dims is for convlab\.unfold3d"):
        convlab.unfold(torch.randn(2, 3, 4, 5, 6), 2)
    with pytest.raises(ValueError, match=r"2 spatial dims is for convlab\.unfold;"):
        convlab.unfold1d(torch.randn(2, 3, 4, 5), 2)
    with pytest.raises(ValueError, match=r"1 spatial dim is for convlab\.unfold1d"):
        convlab.unfold3d(torch.randn(2, 3, 4), 2)


@pytest.mark.parametrize("batched", [True, False])
def test_unfold1d_and_fold1d_match_the_2d_ops_on_a_row(batched):
    x = torch.randn(2, 3, 17, dtype=torch.float64)
    kw = dict(kernel_size=3, dilation=2, padding=1, stride=2)
    ref = F.unfold(x[:, :, None], (1, 3), dilation=(1, 2), padding=(0, 1), stride=(1, 2))
    got = convlab.unfold1d(x if batched else x[0], **kw)
    torch.testing.assert_close(got, ref if batched else ref[0])
    back = F.fold(ref, (1, 17), (1, 3), dilation=(1, 2), padding=(0, 1), stride=(1, 2))[:, :, 0]
    torch.testing.assert_close(
        convlab.fold1d(ref if batched else ref[0], 17, **kw), back if batched else back[0]
    )


@pytest.mark.parametrize("batched", [True, False])
def test_unfold3d_and_fold3d_match_one_hot_convolutions(batched):
    x = torch.randn(2, 2, 4, 5, 6, dtype=torch.float64)
    k = (2, 3, 2)
    eye = torch.eye(12, dtype=torch.float64).reshape(12, 1, *k)
    kw = dict(dilation=(1, 1, 2), padding=(1, 0, 1), stride=(2, 1, 1))
    ref = F.conv3d(x.reshape(4, 1, 4, 5, 6), eye, **kw).reshape(2, 24, -1)
    got = convlab.unfold3d(x if batched else x[0], k, **kw)
    torch.testing.assert_close(got, ref if batched else ref[0])
    cols = torch.randn(2, 24, ref.shape[-1], dtype=torch.float64)
    # adjointness: <unfold3d(x), cols> == <x, fold3d(cols)>
    lhs = (convlab.unfold3d(x, k, **kw) * cols).sum()
    rhs = (x * convlab.fold3d(cols, (4, 5, 6), k, **kw)).sum()
    torch.testing.assert_close(lhs, rhs)


def test_unfold_1d_and_3d_reject_the_other_ranks():
    with pytest.raises(ValueError, match=r"unfold1d needs 3-D \(N, C, W\) or 2-D \(C, W\)"):
        convlab.unfold1d(torch.randn(2, 3, 4, 5), 2)
    with pytest.raises(ValueError, match=r"unfold3d needs 5-D \(N, C, D, H, W\)"):
        convlab.unfold3d(torch.randn(3, 4, 5), 2)


# --------------------------------------------------------------------------
# empty tensors
# --------------------------------------------------------------------------
def _both(ours, theirs):
    """Where torch gives a result, convlab gives the same; else a ValueError."""
    try:
        expected = theirs()
    except RuntimeError:
        with pytest.raises(ValueError):
            ours()
        return None
    got = ours()
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected)
    return got


X = torch.randn(2, 4, 6, 6)
W = torch.randn(3, 4, 3, 3)
WT = torch.randn(4, 2, 3, 3)


@pytest.mark.parametrize(
    "case",
    [
        "conv C_out=0",
        "conv N=0",
        "tconv C_out=0",
        "tconv N=0",
        "tconv groups C_out=0",
        "unfold N=0",
        "unfold C=0",
        "unfold H=0",
        "fold L=0",
        "fold N=0",
        "fold C=0",
        "conv H=0",
    ],
)
@pytest.mark.parametrize("method", convlab.TRANSPOSE_METHODS)
def test_empty_tensors_match_torch_or_raise_a_clear_error(case, method):
    cases = {
        "conv C_out=0": lambda m: m.conv2d(X, W[:0]),
        "conv N=0": lambda m: m.conv2d(X[:0], W, padding=1),
        "tconv C_out=0": lambda m: m.conv_transpose2d(X, WT[:, :0], **_m(m, method)),
        "tconv N=0": lambda m: m.conv_transpose2d(X[:0], WT, stride=2, **_m(m, method)),
        "tconv groups C_out=0": lambda m: m.conv_transpose2d(
            X, WT[:, :0], groups=2, **_m(m, method)
        ),
        "unfold N=0": lambda m: m.unfold(torch.randn(0, 3, 5, 5), 3),
        "unfold C=0": lambda m: m.unfold(torch.randn(2, 0, 5, 5), 3),
        "unfold H=0": lambda m: m.unfold(torch.randn(2, 3, 0, 5), 3, padding=2),
        "fold L=0": lambda m: m.fold(torch.randn(2, 36, 0), (5, 6), 3),
        "fold N=0": lambda m: m.fold(torch.randn(0, 36, 12), (5, 6), 3),
        "fold C=0": lambda m: m.fold(torch.randn(2, 0, 12), (5, 6), 3),
        "conv H=0": lambda m: m.conv2d(torch.randn(2, 4, 0, 6), W, padding=2),
    }
    _both(lambda: cases[case](convlab), lambda: cases[case](F))


def _m(module, method):
    return {"method": method} if module is convlab else {}


def test_the_fold_hint_survives_an_empty_input():
    with pytest.raises(ValueError, match=r"fold got L=0 blocks, but output_size=\(5, 6\)"):
        convlab.fold(torch.randn(2, 36, 0), (5, 6), 3)


def test_empty_batches_keep_gradients_flowing():
    x = torch.randn(0, 4, 6, 6, requires_grad=True)
    w = W.clone().requires_grad_()
    convlab.conv2d(x, w, padding=1).sum().backward()
    assert x.grad.shape == x.shape and torch.equal(w.grad, torch.zeros_like(w))


# --------------------------------------------------------------------------
# huge padding or dilation: only what the blocks read
# --------------------------------------------------------------------------
class _Largest(TorchDispatchMode):
    """The largest tensor (in bytes) that any dispatched aten op returned."""

    def __init__(self):
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.bytes = max(self.bytes, t.numel() * t.element_size())
        return out


def _peak(fn):
    with _Largest() as largest:
        result = fn()
    return result, largest.bytes


MB = 2**20


def _tconv(m, method, x, w, **kw):
    extra = {"method": method} if m is convlab else {}
    return m.conv_transpose2d(x, w, **kw, **extra)


# name, the op (given convlab or F), the unfolded matrix the method builds by
# design (elements; it multiplies every entry of it)
HUGE = {
    "unfold": (
        lambda m: m.unfold(torch.randn(1, 4, 5, 5), 2, dilation=8000, padding=4000),
        4 * 4 * 25,
    ),
    "fold": (
        lambda m: m.fold(torch.randn(1, 16, 25), (5, 5), 2, dilation=8000, padding=4000),
        16 * 25,
    ),
    "conv2d": (
        lambda m: m.conv2d(
            torch.randn(1, 4, 5, 5), torch.randn(2, 4, 3, 3), stride=900, padding=1000
        ),
        36 * 9,
    ),
    "conv2d dilated": (
        lambda m: m.conv2d(
            torch.randn(1, 4, 5, 5), torch.randn(2, 4, 2, 2), dilation=3000, padding=1500
        ),
        16 * 6 * 6,
    ),
    "conv_transpose2d fold": (
        lambda m: _tconv(
            m, "fold", torch.randn(1, 4, 5, 5), torch.randn(4, 2, 2, 2), dilation=3000, padding=1400
        ),
        8 * 25,
    ),
    "conv_transpose2d rot90": (
        lambda m: _tconv(
            m,
            "rot90",
            torch.randn(1, 4, 5, 5),
            torch.randn(4, 2, 2, 2),
            dilation=3000,
            padding=1400,
        ),
        16 * 205 * 205,
    ),
}


@pytest.mark.parametrize("name", HUGE)
def test_huge_padding_reads_only_what_blocks_read(name):
    make, matrix = HUGE[name]
    torch.manual_seed(0)
    expected = make(F)
    torch.manual_seed(0)
    got, peak = _peak(lambda: make(convlab))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    budget = 4 * max(got.numel(), matrix) * got.element_size() + MB
    assert peak <= budget, f"{name}: largest tensor {peak / MB:.1f} MB > {budget / MB:.1f} MB"


def test_the_index_path_is_taken_only_where_padding_dwarfs_the_input():
    ops = convlab.ops
    assert not ops._by_index((8, 64, 56, 56), 4, ((1, 1), (1, 1)))
    assert not ops._by_index((1, 1, 5, 5), 4, ((4, 4), (4, 4)))  # small: copy is cheaper
    assert ops._by_index((1, 4, 5, 5), 4, ((4000, 4000), (4000, 4000)), cols=400)
    # a transposed convolution's zero insertion is dwarfed by its unfolded matrix
    tconv = ((8, 64, 28, 28), 4, ((2, 3), (2, 3)), (2, 2))
    assert not ops._by_index(*tconv, cols=8 * 64 * 16 * 56 * 56)


# --------------------------------------------------------------------------
# conv_matrix
# --------------------------------------------------------------------------
def test_conv_matrix_follows_the_weights_device_and_dtype():
    w = torch.randn(3, 3, device="meta", dtype=torch.float64)
    Cm = convlab.conv_matrix((5, 6), w)
    assert Cm.device.type == "meta" and Cm.dtype == torch.float64 and Cm.shape == (12, 30)


def test_conv_matrix_rejects_what_it_cannot_build():
    with pytest.raises(ValueError, match=r"input_size=\(0, 4\) is invalid"):
        convlab.conv_matrix((0, 4), torch.randn(3, 3))
    with pytest.raises(ValueError, match="single-channel 2-D kernel"):
        convlab.conv_matrix((4, 4), torch.randn(1, 1, 3, 3))


GRID = list(
    itertools.product((4, 5, 7), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2))
)  # size, kernel, stride, padding, dilation


def test_conv_matrix_is_the_convolution_and_its_transpose_over_a_grid():
    checked = dropped = 0
    for n, k, s, p, d in GRID:
        if d * (k - 1) + 1 > n + 2 * p:
            continue
        w = torch.randn(k, k, dtype=torch.float64)
        Cm = convlab.conv_matrix((n, n + 1), w, stride=s, padding=p, dilation=d)
        x = torch.randn(1, 1, n, n + 1, dtype=torch.float64)
        y = F.conv2d(x, w[None, None], stride=s, padding=p, dilation=d)
        torch.testing.assert_close(Cm @ x.flatten(), y.flatten())
        op = shapes.output_padding_for((n, n + 1), k, stride=s, padding=p, dilation=d)
        back = F.conv_transpose2d(
            y, w[None, None], stride=s, padding=p, output_padding=op, dilation=d
        )
        torch.testing.assert_close(Cm.T @ y.flatten(), back.flatten())
        if any(op):  # without output_padding the transpose is a smaller image
            dropped += 1
            short = F.conv_transpose2d(y, w[None, None], stride=s, padding=p, dilation=d)
            assert short.numel() < Cm.shape[1]
        checked += 1
    assert checked > 100 and dropped > 10


# --------------------------------------------------------------------------
# keyword-only shape helpers
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, args",
    [
        (shapes.conv_output_shape, ((5, 5), 3, 2)),
        (shapes.num_blocks, ((5, 5), 3, 2)),
        (shapes.conv_transpose_output_shape, ((5, 5), 3, 2)),
        (shapes.output_padding_for, ((5, 5), 3, 2)),
        (shapes.fold_output_sizes_for, ((5, 5), 3, 2)),
    ],
)
def test_shape_helpers_take_parameters_by_keyword_only(fn, args):
    with pytest.raises(TypeError, match="positional argument"):
        fn(*args)
