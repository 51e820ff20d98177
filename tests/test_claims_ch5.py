"""The general sentences of Chapter 5, Backward, each tried against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import itertools
import json
import math

import pytest
import torch
import torch.nn.functional as F
from claims_index import ROOT

import convlab
from convlab import aten, ops

F64 = dict(dtype=torch.float64)
CLOSE = dict(atol=1e-10, rtol=1e-10)


def _conv_cases():
    """(x shape, weight shape, stride, padding, dilation, groups): every
    legal combination of a small grid, non-square sizes and kernels included."""
    for (H, W), (kh, kw), s, p, d, g in itertools.product(
        [(5, 5), (7, 6), (8, 11)],
        [(1, 1), (2, 3), (3, 3)],
        [1, 2, 3, (2, 1)],
        [0, 1, (2, 0)],
        [1, 2, (1, 3)],
        [1, 2],
    ):
        k, _sp, pp, dp = (kh, kw), _pair(s), _pair(p), _pair(d)
        if any(H_ + 2 * pp[i] < dp[i] * (k[i] - 1) + 1 for i, H_ in enumerate((H, W))):
            continue
        yield (2, 2 * g, H, W), (3 * g, 2, kh, kw), s, p, d, g


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


CONV_CASES = list(_conv_cases())


def _forward(xs, ws, s, p, d, g, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*xs, **F64, generator=gen, requires_grad=True)
    weight = torch.randn(*ws, **F64, generator=gen, requires_grad=True)
    bias = torch.randn(ws[0], **F64, generator=gen, requires_grad=True)
    y = F.conv2d(x, weight, bias, stride=s, padding=p, dilation=d, groups=g)
    grad_y = torch.randn(y.shape, **F64, generator=gen)
    grads = torch.autograd.grad(y, (x, weight, bias), grad_y)
    return x.detach(), weight.detach(), grad_y, grads


def _fold_input_grad(grad_y, weight, size, s, p, d, g):
    """Equation eq-grad-input-fold, group by group."""
    N, C_out = grad_y.shape[:2]
    L = grad_y[0, 0].numel()
    w = weight.reshape(g, C_out // g, -1)  # (g, C_out/g, C_in/g * K)
    cols = w.transpose(1, 2) @ grad_y.reshape(N, g, C_out // g, L)
    return F.fold(cols.reshape(N, -1, L), size, weight.shape[2:], d, p, s)


def _unfold_weight_grad(x, grad_y, weight_shape, s, p, d, g):
    """sum over n of G_n U_n^T, group by group."""
    N, C_out = grad_y.shape[:2]
    L = grad_y[0, 0].numel()
    U = F.unfold(x, weight_shape[2:], dilation=d, padding=p, stride=s)
    U = U.reshape(N, g, -1, L)
    G = grad_y.reshape(N, g, C_out // g, L)
    return (G @ U.transpose(2, 3)).sum(0).reshape(weight_shape)


def test_three_gradients_are_fold_unfold_and_a_sum_for_every_parameter():
    """[sec-backward-matmul]
    > So
    >
    > $$
    > \\frac{\\partial \\mathcal{L}}{\\partial x_n} = \\mathrm{fold}\\!\\left(W^\\top G_n\\right)
    > $$ (eq-grad-input-fold)
    >
    > with the convolution's own `kernel_size`, `dilation`, `padding` and `stride`, and
    > `output_size` the input's size.

    [sec-backward-matmul]
    > The bias gradient sums the output gradient over the
    > batch and every position, and `groups` does not enter it

    [sec-backward-input]
    > {eq}`eq-grad-input-fold` holds for every parameter, because `unfold` and `fold` with the
    > same parameters are each other's transposes.

    [sec-backward-input]
    > With `groups`, $W^\\top G$ is taken group by group, as the forward's product is
    > ({ref}`3.3 Groups <sec-groups>`), and the columns of all groups are stacked before the `fold`

    [sec-backward-weight]
    > With `groups`, each group's rows of $U$ pair with that group's output channels only

    Every legal case of sizes 5 x 5, 7 x 6 and 8 x 11, kernels 1 x 1, 2 x 3 and
    3 x 3, strides 1, 2, 3 and (2, 1), paddings 0, 1 and (2, 0), dilations 1, 2 and
    (1, 3), groups 1 and 2, in float64 against autograd.
    """
    assert len(CONV_CASES) > 300
    for i, (xs, ws, s, p, d, g) in enumerate(CONV_CASES):
        x, weight, grad_y, (gx, gw, gb) = _forward(xs, ws, s, p, d, g, i)
        case = (xs, ws, s, p, d, g)
        got_x = _fold_input_grad(grad_y, weight, xs[2:], s, p, d, g)
        torch.testing.assert_close(got_x, gx, **CLOSE, msg=str(case))
        got_w = _unfold_weight_grad(x, grad_y, ws, s, p, d, g)
        torch.testing.assert_close(got_w, gw, **CLOSE, msg=str(case))
        torch.testing.assert_close(grad_y.sum((0, 2, 3)), gb, **CLOSE, msg=str(case))


def test_pixels_no_block_reads_get_zero_gradient():
    """[sec-backward-input]
    > `fold` needs nothing extra: it puts every column back
    > where its block came from, inside an image of the input's size, so the rows that no block
    > read come out zero.

    [sec-backward-summary]
    > The input gradient ({ref}`sec-backward-input`) is one `fold` with the convolution's own
    > parameters and the input's size: rows the forward never read get zero, with no
    > `output_padding` to choose.

    On every case of the grid: where the divisor (how many blocks read a pixel) is
    zero, autograd's input gradient is exactly zero, and the fold gives it with no
    extra argument. The grid must hold cases with such pixels for this to say anything.
    """
    unread = 0
    for i, (xs, ws, s, p, d, g) in enumerate(CONV_CASES):
        _x, weight, grad_y, (gx, _, _) = _forward(xs, ws, s, p, d, g, i)
        divisor = convlab.fold_divisor(xs[2:], ws[2:], d, p, s)
        zero = divisor == 0
        unread += int(zero.any())
        assert (gx[:, :, zero] == 0).all()
        got = _fold_input_grad(grad_y, weight, xs[2:], s, p, d, g)
        assert (got[:, :, zero] == 0).all()
    assert unread > 50


def test_weight_gradient_is_a_convolution_with_stride_and_dilation_swapped():
    """[sec-weight-grad-conv]
    > so the forward's **stride becomes the
    > dilation**; the next output, tap $(i, j + 1)$, starts $\\mathrm{dil}$ pixels further on,
    > so the forward's **dilation becomes the stride**.

    [sec-weight-grad-conv]
    > It is never smaller than the kernel, and it is
    > larger when the forward's floor dropped input rows that a tap past the kernel's last would
    > have read

    [sec-weight-grad-conv]
    > per dimension its size is $k + \\lfloor r/\\mathrm{dil} \\rfloor$, with
    > $r = (H + 2p - \\mathrm{dil}(k-1) - 1) \\bmod s$ the remainder the floor dropped

    [sec-weight-grad-conv]
    > The first `kernel_size` rows and columns are the gradient

    [sec-backward-summary]
    > it is also a convolution of the input with the output gradient, in which
    > stride and dilation swap roles, cropped to the kernel's size.

    One dimension at a time over sizes 1 to 14, kernels 1 to 4, strides 1 to 4,
    paddings 0 to 2 and dilations 1 to 3 (every legal case): the output size of the
    swapped convolution is at least k, larger exactly when the remainder
    (in + 2p - d(k-1) - 1) mod s is at least d (a tap k would fit), and its first k
    are autograd's gradient (checked in 2-D on the grid with groups=1).
    """
    larger = 0
    for H, k, s, p, d in itertools.product(
        range(1, 15), range(1, 5), range(1, 5), range(3), (1, 2, 3)
    ):
        R = H + 2 * p - d * (k - 1) - 1
        if R < 0:
            continue
        H_out = R // s + 1
        h = (H + 2 * p - s * (H_out - 1) - 1) // d + 1  # the swapped conv's size
        assert h >= k
        assert (h > k) == (R % s >= d)
        assert h == k + (R % s) // d
        last_tap_fits = (H_out - 1) * s + k * d <= H + 2 * p - 1
        assert (h > k) == last_tap_fits
        larger += h > k
    assert larger > 100
    for i, (xs, ws, s, p, d, g) in enumerate(CONV_CASES):
        if g != 1:
            continue
        x, _weight, grad_y, (_, gw, _) = _forward(xs, ws, s, p, d, g, i)
        as_conv = F.conv2d(
            x.transpose(0, 1), grad_y.transpose(0, 1), padding=p, stride=d, dilation=s
        )
        assert as_conv.shape[2] >= ws[2] and as_conv.shape[3] >= ws[3]
        got = as_conv[:, :, : ws[2], : ws[3]].transpose(0, 1)
        torch.testing.assert_close(got, gw, **CLOSE)


def _notebook_function():
    """The chapter's own ``Conv2dUnfold``, executed from its cell."""
    cells = json.loads((ROOT / "notebooks/05_backward.ipynb").read_text())["cells"]
    (source,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "class Conv2dUnfold" in "".join(c["source"])
    ]
    namespace = {"torch": torch, "F": F, "convlab": convlab}
    exec(source, namespace)
    return namespace["Conv2dUnfold"]


FUNCTION_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 2), 2, 1, (1, 2)),
    ((1, 2, 5, 5), (3, 2, 1, 1), 1, 0, 1),
    ((3, 1, 7, 4), (2, 1, 2, 3), (3, 1), (2, 0), (2, 1)),
    ((2, 2, 4, 4), (2, 2, 4, 4), 1, 2, 1),
]


@pytest.mark.parametrize("xs,ws,s,p,d", FUNCTION_CASES)
def test_the_chapters_function_passes_gradcheck_and_gradgradcheck(xs, ws, s, p, d):
    """[sec-backward-function]
    > `gradgradcheck` does the same for the backward's own gradient (double backward, which
    > gradient penalties need): it passes because the backward is made of operations autograd
    > can differentiate again, `unfold`, `fold` and matrix products.

    [sec-backward-summary]
    > A `torch.autograd.Function` with `setup_context` and `generate_vmap_rule`
    > ({ref}`sec-backward-function`) passes `gradcheck` and `gradgradcheck`, and works under
    > `vmap`, `grad` and `torch.compile`

    The notebook's class itself, on four shapes and parameter sets: gradcheck,
    gradgradcheck, vmap(grad) per sample summing to the batch's gradient, and
    torch.compile (aot_eager, fullgraph) giving torch's gradients.
    """
    fn = _notebook_function()
    gen = torch.Generator().manual_seed(0)
    args = [
        torch.randn(*shape, **F64, generator=gen, requires_grad=True)
        for shape in (xs, ws, (ws[0],))
    ]

    def conv(x, weight, bias):
        return fn.apply(x, weight, bias, s, p, d)

    assert torch.autograd.gradcheck(conv, args)
    assert torch.autograd.gradgradcheck(conv, args)
    x, weight, bias = (t.detach() for t in args)

    def loss(x_n, weight):
        return conv(x_n[None], weight, bias).square().sum()

    per_sample = torch.func.vmap(torch.func.grad(loss, argnums=1), in_dims=(0, None))(x, weight)
    total = torch.func.grad(lambda w: conv(x, w, bias).square().sum())(weight)
    torch.testing.assert_close(per_sample.sum(0), total, **CLOSE)
    torch._dynamo.reset()
    compiled = torch.compile(conv, backend="aot_eager", fullgraph=True)
    ours = torch.autograd.grad(compiled(*args).square().sum(), args)
    ref = F.conv2d(*args, stride=s, padding=p, dilation=d)
    theirs = torch.autograd.grad(ref.square().sum(), args)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, **CLOSE)


OURS = [
    (convlab.conv1d, (2, 4, 9), (6, 2, 3), {}),
    (convlab.conv2d, (2, 4, 8, 8), (6, 2, 3, 3), {}),
    (convlab.conv3d, (2, 4, 5, 5, 5), (6, 2, 3, 3, 3), {}),
    (convlab.conv_transpose1d, (2, 4, 9), (4, 3, 3), {"method": "fold"}),
    (convlab.conv_transpose2d, (2, 4, 5, 5), (4, 3, 3, 3), {"method": "rot90"}),
    (convlab.conv_transpose3d, (2, 4, 3, 3, 3), (4, 3, 3, 3, 3), {"method": "fold"}),
]


@pytest.mark.parametrize("op,xs,ws,kw", OURS, ids=lambda v: getattr(v, "__name__", None))
def test_convlab_backward_dispatches_products_and_no_convolution(op, xs, ws, kw):
    """[sec-backward-function]
    > `convlab.conv2d`, like `conv1d`, `conv3d` and the transposed convolutions, computes its
    > backward this way (`convlab.ops._Conv`), with `groups`

    [sec-backward-function]
    > Its backward dispatches
    > matrix products and no convolution

    Every convlab convolution, with stride 2, padding 1 and groups 2: its grad_fn is
    one of convlab's Functions, and the backward's aten operators include bmm and
    none of the convolution operators the checkers forbid.
    """
    x = torch.randn(*xs, requires_grad=True)
    weight = torch.randn(*ws, requires_grad=True)
    y = op(x, weight, stride=2, padding=1, groups=2, **kw)
    assert type(y.grad_fn).__name__.startswith(
        ("_ConvFwdADBackward", "_ConvTransposeFwdADBackward")
    )
    with aten.record_aten_ops() as names:
        y.backward(torch.ones_like(y))
    assert "bmm" in names
    assert aten.calls(names, "convolution") == []


def test_backward_holds_one_chunk_of_the_unfolded_matrix_at_a_time(monkeypatch):
    """[sec-backward-function]
    > and one chunk of samples at a
    > time so that at most one chunk's unfolded matrix exists at once (when the backward is not
    > itself being recorded, as `create_graph=True` does, and outside `torch.compile`, which
    > takes the batch in one piece).

    [sec-backward-summary]
    > Save the input, not the unfolded matrix ({ref}`sec-backward-memory`): with stride 1
    > and the size kept, $K$ times less memory kept between the passes, for one more
    > `unfold`.

    A batch of 8 whose unfolded matrix is 8 times a sample's, chunks of 2 samples: the
    largest buffer the backward allocates (the profiler's aten::empty) is at most two
    samples' matrices, a quarter of the whole; with chunks of 8 it is the whole.
    """
    x = torch.randn(8, 16, 12, 12, requires_grad=True)
    weight = torch.randn(16, 16, 3, 3, requires_grad=True)
    per_sample = 16 * 9 * 144 * 4  # bytes of one sample's unfolded matrix
    for samples in (2, 8):
        monkeypatch.setattr(ops, "CHUNK_BYTES", samples * per_sample)
        y = convlab.conv2d(x, weight, padding=1)
        largest = aten.largest_allocation(y.backward, torch.ones_like(y))
        assert largest == samples * per_sample


def _saved_numbers(fn, *args):
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        fn(*args)
    return sum(t.numel() for t in saved)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("s", [1, 2])
def test_autograd_saves_the_unfolded_matrix_and_the_function_the_input(k, s):
    """[sec-backward-memory]
    > The product `weight @ U` needs `U` for the weight's gradient,
    > so autograd keeps the unfolded matrix from the forward to the backward: $C_\\mathrm{in} K
    > L$ numbers against the input's $C_\\mathrm{in} H W$, about $K$ times more with stride 1
    > and `padding` that keeps the size. `Conv2dUnfold` saves `x` and recomputes `U` in the
    > backward.

    Kernels 1, 2, 3 and 5, strides 1 and 2, the 'same' size where k is odd: what
    saved_tensors_hooks sees is N*C_in*K*L + the weight for the forward left to
    autograd, x + the weight for the notebook's Function (and for convlab.conv2d);
    with stride 1 and the size kept, K*L = K*H*W exactly.
    """
    fn = _notebook_function()
    N, C, H = 2, 3, 10
    p = (k - 1) // 2
    x = torch.randn(N, C, H, H, requires_grad=True)
    weight = torch.randn(4, C, k, k, requires_grad=True)
    bias = torch.randn(4, requires_grad=True)
    L = convlab.num_blocks((H, H), k, padding=p, stride=s)

    def by_autograd(x, weight, bias):
        return weight.flatten(1) @ F.unfold(x, k, padding=p, stride=s) + bias[:, None]

    assert _saved_numbers(by_autograd, x, weight, bias) == N * C * k * k * L + weight.numel()
    expected = x.numel() + weight.numel()
    assert _saved_numbers(fn.apply, x, weight, bias, s, p, 1) == expected
    assert (
        _saved_numbers(lambda *t: convlab.conv2d(*t, stride=s, padding=p), x, weight, bias)
        == expected
    )
    if s == 1 and k % 2:
        assert L == H * H


@pytest.mark.parametrize("seed", range(6))
def test_per_sample_gradients_are_one_einsum(seed):
    """[sec-per-sample]
    > Leave out the sum, and one `einsum` gives them all at once

    [sec-backward-summary]
    > Per-sample gradients ({ref}`sec-per-sample`): one `einsum` of each sample's output
    > gradient with its own unfolded input.

    Random shapes and parameters per seed (stride, padding, dilation), in float64:
    the einsum equals vmap(grad) of each sample's loss and, summed, the batch's
    gradient.
    """
    g = torch.Generator().manual_seed(seed)

    def draw(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    N, C_in, C_out, k, s, p, d = (
        draw(1, 4),
        draw(1, 3),
        draw(1, 3),
        draw(1, 3),
        draw(1, 3),
        draw(0, 2),
        draw(1, 2),
    )
    H = d * (k - 1) + 1 + draw(0, 5)
    x = torch.randn(N, C_in, H, H + 1, **F64, generator=g)
    weight = torch.randn(C_out, C_in, k, k, **F64, generator=g)
    conv = dict(stride=s, padding=p, dilation=d)
    grad_y = torch.randn(F.conv2d(x, weight, **conv).shape, **F64, generator=g)
    U = F.unfold(x, k, **conv)
    mine = torch.einsum("nol,nkl->nok", grad_y.flatten(2), U).view(N, C_out, C_in, k, k)

    def sample_loss(x_n, weight, g_n):
        return (F.conv2d(x_n[None], weight, **conv) * g_n).sum()

    by_vmap = torch.func.vmap(torch.func.grad(sample_loss, argnums=1), in_dims=(0, None, 0))(
        x, weight, grad_y
    )
    torch.testing.assert_close(mine, by_vmap, **CLOSE)
    w = weight.clone().requires_grad_()
    (total,) = torch.autograd.grad(F.conv2d(x, w, **conv), w, grad_y)
    torch.testing.assert_close(mine.sum(0), total, **CLOSE)


def _tconv_cases():
    for H, k, s, p, d, g in itertools.product(
        (3, 4), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2), (1, 2)
    ):
        for op in range(max(s, d)):
            yield H, k, s, p, op, d, g


@pytest.mark.parametrize("H,k,s,p,op,d,g", list(_tconv_cases()))
def test_transposed_backward_is_a_convolution(H, k, s, p, op, d, g):
    """[sec-backward-transposed]
    > so its input gradient is
    > $(C^\\top)^\\top = C$: the convolution with the same weight tensor, `stride`, `padding`,
    > `dilation` and `groups`.

    [sec-backward-transposed]
    > the rows and columns
    > that `output_padding` added make no extra block, as long as `output_padding` is below
    > `stride`.

    [sec-backward-transposed]
    > (PyTorch also accepts an `output_padding` at least `stride` when it is below `dilation`;
    > then the convolution's output is larger, and its first rows and columns are the gradient.)

    [sec-backward-transposed]
    > $V_n = \\mathrm{unfold}(G_n)$, the output gradient unfolded with the same parameters (its
    > first `H` x `W` blocks, should `output_padding` reach `stride`), the gradient of $W^\\top$
    > is $\\sum_n V_n x_n^\\top$, and that of $W$ is $\\sum_n x_n V_n^\\top$, group by group

    Every legal output_padding of sizes 3 and 4, kernels 1 to 3, strides 1 to 3,
    paddings 0 to 2, dilations 1 and 2, groups 1 and 2 (where the output is not
    empty), in float64 against autograd.
    """
    out = (H - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        pytest.skip("empty output")
    gen = torch.Generator().manual_seed(H * 1000 + k * 100 + s * 10 + p)
    x = torch.randn(2, 2 * g, H, H, **F64, generator=gen, requires_grad=True)
    weight = torch.randn(2 * g, 3, k, k, **F64, generator=gen, requires_grad=True)
    tconv = dict(stride=s, padding=p, dilation=d, groups=g)
    y = F.conv_transpose2d(x, weight, output_padding=op, **tconv)
    grad_y = torch.randn(y.shape, **F64, generator=gen)
    ref_x, ref_w = torch.autograd.grad(y, (x, weight), grad_y)
    grad_x = F.conv2d(grad_y, weight.detach(), **tconv)
    extra = op // s  # blocks past the input's size, per dim
    assert grad_x.shape[2] == H + extra
    assert (extra > 0) == (op >= s)
    torch.testing.assert_close(grad_x[:, :, :H, :H], ref_x, **CLOSE)
    V = F.unfold(grad_y, k, dilation=d, padding=p, stride=s)
    blocks = H + extra
    V = V.view(2, -1, blocks, blocks)[:, :, :H, :H].reshape(2, g, 3 * k * k, H * H)
    x_g = x.detach().view(2, g, 2, H * H)
    grad_w = (x_g @ V.transpose(2, 3)).sum(0).view(weight.shape)
    torch.testing.assert_close(grad_w, ref_w, **CLOSE)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_both_transposed_methods_give_the_same_gradients_bit_for_bit(n):
    """[sec-backward-transposed]
    > a gradient depends on the
    > function, not on how its value was computed. The `fold` (scatter) and `rot90` (gather)
    > methods give bit-for-bit the same gradients

    1-, 2- and 3-D, on stride 1 to 3, output_padding below the stride, groups 1 and 2:
    input, weight and bias gradients are torch.equal across the two methods.
    """
    op = {1: convlab.conv_transpose1d, 2: convlab.conv_transpose2d, 3: convlab.conv_transpose3d}[n]
    for s, g in itertools.product((1, 2, 3), (1, 2)):
        x = torch.randn(2, 2 * g, *([4] * n), requires_grad=True)
        weight = torch.randn(2 * g, 3, *([3] * n), requires_grad=True)
        bias = torch.randn(3 * g, requires_grad=True)
        kw = dict(stride=s, padding=1, output_padding=s - 1, groups=g)
        grads = []
        for method in convlab.TRANSPOSE_METHODS:
            y = op(x, weight, bias, **kw, method=method)
            grad_y = torch.ones_like(y) * torch.arange(math.prod(y.shape[1:])).view(y.shape[1:])
            grads.append(torch.autograd.grad(y, (x, weight, bias), grad_y))
        for a, b in zip(*grads):
            assert torch.equal(a, b)


def test_complex_gradients_are_conjugated_in_convlab():
    """[sec-backward-matmul]
    > (For complex tensors PyTorch's convention takes conjugate transposes: $G U^\\mathsf{H}$ and
    > $W^\\mathsf{H} G$. This chapter's code is for real tensors; `convlab`'s backward
    > conjugates.)

    complex128, every convlab convolution of the backward tests' kinds with stride 2,
    padding 1 and groups 2: gradcheck passes; torch's gradients equal the
    conjugate-transpose formulas (fold of W^H G, G unfold(x)^H), and convlab's equal
    torch's.
    """
    g = torch.Generator().manual_seed(0)
    c = dict(dtype=torch.complex128, generator=g)
    for op, xs, ws, kw in OURS:
        x = torch.randn(*xs, **c, requires_grad=True)
        weight = torch.randn(*ws, **c, requires_grad=True)

        def fn(x, w, op=op, kw=kw):
            return op(x, w, stride=2, padding=1, groups=2, **kw)

        assert torch.autograd.gradcheck(fn, (x, weight))
    x = torch.randn(2, 3, 6, 6, **c, requires_grad=True)
    weight = torch.randn(4, 3, 3, 3, **c, requires_grad=True)
    y = F.conv2d(x, weight, padding=1)
    grad_y = torch.randn(y.shape, **c)
    gx, gw = torch.autograd.grad(y, (x, weight), grad_y)
    U = F.unfold(x.detach(), 3, padding=1)
    G = grad_y.flatten(2)
    W = weight.detach().view(4, -1)
    torch.testing.assert_close(F.fold(W.mH @ G, (6, 6), 3, padding=1), gx, **CLOSE)
    torch.testing.assert_close((G @ U.mH).sum(0).view(weight.shape), gw, **CLOSE)
    got = torch.autograd.grad(convlab.conv2d(x, weight, padding=1), (x, weight), grad_y)
    torch.testing.assert_close(got[0], gx, **CLOSE)
    torch.testing.assert_close(got[1], gw, **CLOSE)


def test_fold_and_unfold_take_symmetric_integer_padding_only():
    """[sec-backward-input]
    > `F.fold` and `F.unfold` take one integer padding per dimension, the same on both sides.
    > `padding='same'` with an odd $\\mathrm{dil}(k-1)$ pads one more zero at the end

    F.unfold and F.fold refuse padding='same' and a pair of pairs; conv2d with
    padding='same' equals F.pad by (total // 2, total - total // 2) with
    total = dil*(k-1): the extra zero at the end.
    """
    x = torch.randn(1, 2, 7, 7)
    for bad in ("same", ((1, 2), (1, 2))):
        with pytest.raises((TypeError, RuntimeError)):
            F.unfold(x, 2, padding=bad)
        with pytest.raises((TypeError, RuntimeError)):
            F.fold(torch.randn(1, 8, 49), (7, 7), 2, padding=bad)
    for k, d in itertools.product((2, 3, 4), (1, 2, 3)):
        total = d * (k - 1)
        w = torch.randn(3, 2, k, k)
        same = F.conv2d(x, w, padding="same", dilation=d)
        before, after = total // 2, total - total // 2
        padded = F.conv2d(F.pad(x, (before, after, before, after)), w, dilation=d)
        torch.testing.assert_close(same, padded)


def test_torch_func_reverse_mode_and_vmap_work_forward_mode_needs_jvp():
    """[sec-backward-function]
    > the same class also works under
    > `torch.func`'s reverse-mode transforms (`grad`, `vjp`, `jacrev`) and `vmap`; forward mode
    > (`jvp`, `jacfwd`) needs one more static method, `jvp`, which `convlab`'s own Functions have

    The notebook's class: jacrev equals torch's Jacobian, vjp runs; jvp and jacfwd
    raise NotImplementedError (no jvp); convlab.conv2d and conv_transpose2d give
    torch's torch.func.jvp.
    """
    fn = _notebook_function()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 4, 4, **F64, generator=g)
    weight = torch.randn(3, 2, 2, 2, **F64, generator=g)
    bias = torch.randn(3, **F64, generator=g)

    def ours(x):
        return fn.apply(x, weight, bias, 1, 1, 1)

    def theirs(x):
        return F.conv2d(x, weight, bias, padding=1)

    torch.testing.assert_close(torch.func.jacrev(ours)(x), torch.func.jacrev(theirs)(x), **CLOSE)
    torch.func.vjp(ours, x)[1](torch.ones_like(ours(x)))
    with pytest.raises(NotImplementedError):
        torch.func.jvp(ours, (x,), (x,))
    with pytest.raises(NotImplementedError):
        torch.func.jacfwd(ours)(x)
    w_t = weight.transpose(0, 1)
    for op, ref, w in (
        (convlab.conv2d, F.conv2d, weight),
        (convlab.conv_transpose2d, F.conv_transpose2d, w_t),
    ):
        got = torch.func.jvp(lambda x, w, op=op: op(x, w, padding=1), (x, w), (x, w))
        want = torch.func.jvp(lambda x, w, ref=ref: ref(x, w, padding=1), (x, w), (x, w))
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, **CLOSE)


def test_vmap_of_grad_runs_one_grouped_convolution_backward():
    """[sec-per-sample]
    > It does not loop over the
    > samples: its batching rule runs one convolution backward in which the samples are folded
    > into the channels, one group per sample

    Batches of 1 to 6 and groups 1 and 2 of the forward: the only convolution_backward
    that vmap(grad) dispatches is one call whose input has N * C_in channels and whose
    groups are N times the forward's.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    class Calls(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.backward = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten.convolution_backward.default:
                self.backward.append((args[1].shape[1], args[9]))
            return func(*args, **(kwargs or {}))

    for N, groups in itertools.product(range(1, 7), (1, 2)):
        x = torch.randn(N, 4, 8, 8)
        weight = torch.randn(6, 4 // groups, 3, 3)
        grad_y = torch.randn(N, 6, 4, 4)

        def sample_loss(x_n, weight, g_n, groups=groups):
            y_n = F.conv2d(x_n[None], weight, stride=2, padding=1, groups=groups)
            return (y_n * g_n).sum()

        calls = Calls()
        per_sample = torch.func.vmap(torch.func.grad(sample_loss, argnums=1), in_dims=(0, None, 0))
        with calls:
            per_sample(x, weight, grad_y)
        assert calls.backward == [(N * 4, N * groups)], (N, groups, calls.backward)


@pytest.mark.parametrize("N", [1, 8, 31, 32, 33, 64])
def test_pytorch_per_sample_conv_gradients_switch_forms_at_32(N):
    """[sec-per-sample]
    > PyTorch's own per-sample gradients for `nn.Conv2d`
    > (`call_for_per_sample_grads` of `torch.nn.utils._per_sample_grad`, built on "expanded
    > weights") take the grouped convolution for a batch of fewer than 32 samples with one
    > group, and `unfold` with an `einsum` otherwise.

    The aten operators of the backward: im2col (unfold) exactly when the batch has
    32 samples or more, or groups=2; with groups=1 the per-sample gradients equal the
    einsum's either way.
    """
    from torch.nn.utils._per_sample_grad import call_for_per_sample_grads

    for groups in (1, 2):
        layer = torch.nn.Conv2d(4, 6, 3, padding=1, groups=groups)
        x = torch.randn(N, 4, 6, 6)
        with aten.record_aten_ops() as names:
            call_for_per_sample_grads(layer)(x).sum().backward()
        assert ("im2col" in names) == (N >= 32 or groups > 1), (N, groups)
        if groups == 1:
            U = F.unfold(x, 3, padding=1)
            want = torch.einsum("nol,nkl->nok", torch.ones(N, 6, 36), U).view(N, 6, 4, 3, 3)
            torch.testing.assert_close(layer.weight.grad_sample, want, atol=1e-4, rtol=1e-4)


def test_a_function_that_keeps_u_loses_double_backward():
    """[sec-backward-memory]
    > Keeping `U` in a `Function` would cost double backward as well:
    > `setup_context` runs where autograd records nothing, so a `U` computed there does not
    > lead back to `x`, the weight gradient's own gradient with respect to `x` is lost, and
    > `gradgradcheck` fails; an `unfold` in `backward` keeps the link.

    The notebook's Function changed only in where U comes from (setup_context
    instead of backward), on the four shapes of the gradcheck test: gradcheck
    passes, gradgradcheck fails on every one; the notebook's own passes.
    """
    fn = _notebook_function()

    class KeepsU(fn):
        @staticmethod
        def setup_context(ctx, inputs, output):
            fn.setup_context(ctx, inputs, output)
            x, weight = inputs[:2]
            ctx.U = F.unfold(x, weight.shape[2:], **ctx.conv)
            assert not ctx.U.requires_grad

        @staticmethod
        def backward(ctx, grad_y):
            x, weight = ctx.saved_tensors
            G = grad_y.flatten(2)
            cols = weight.flatten(1).T @ G
            grad_x = F.fold(cols, x.shape[2:], weight.shape[2:], **ctx.conv)
            grad_weight = (G @ ctx.U.transpose(1, 2)).sum(0).view(weight.shape)
            return grad_x, grad_weight, G.sum((0, 2)), None, None, None

    gen = torch.Generator().manual_seed(0)
    for xs, ws, s, p, d in FUNCTION_CASES:
        args = [
            torch.randn(*shape, **F64, generator=gen, requires_grad=True)
            for shape in (xs, ws, (ws[0],))
        ]

        def keeps(x, w, b, s=s, p=p, d=d):
            return KeepsU.apply(x, w, b, s, p, d)

        def recomputes(x, w, b, s=s, p=p, d=d):
            return fn.apply(x, w, b, s, p, d)

        assert torch.autograd.gradcheck(keeps, args)
        assert not torch.autograd.gradgradcheck(keeps, args, raise_exception=False)
        assert torch.autograd.gradgradcheck(recomputes, args)
