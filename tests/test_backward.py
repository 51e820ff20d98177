"""convlab's explicit backward (chapter 5): ``_Conv`` and ``_ConvTranspose``.

The wide property tests (``test_ops_wide.py``) already compare every gradient
with torch's, run gradgradcheck, vmap and grad; these pin what the explicit
backward adds and could break on its own:

- the gradients equal torch's when the batch is split into chunks of one
  sample (the in-place path with a reused buffer) and when autograd records
  the backward (``create_graph``: the concatenating path);
- only the input and the weight are saved for the backward, never the
  unfolded matrix;
- forward mode (``torch.func.jvp``) and ``torch.compile`` of forward plus
  backward give torch's numbers;
- a transposed convolution's gradients do not depend on the forward method.
"""

import pytest
import torch
import torch.nn.functional as F

import convlab
from convlab import ops

F64 = dict(atol=1e-10, rtol=1e-10)

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TCONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
OURS_CONV = {1: convlab.conv1d, 2: convlab.conv2d, 3: convlab.conv3d}
OURS_TCONV = {1: convlab.conv_transpose1d, 2: convlab.conv_transpose2d, 3: convlab.conv_transpose3d}

# (n, input shape, weight shape, kwargs): every parameter away from its default
CONV_CASES = [
    (1, (5, 4, 11), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (2, (5, 3, 9, 8), (4, 3, 2, 3), dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2))),
    (2, (5, 6, 7, 7), (6, 1, 3, 3), dict(padding="same", groups=6)),
    (2, (5, 4, 8, 8), (6, 2, 4, 4), dict(padding="same", dilation=1, groups=2)),
    (2, (0, 3, 5, 5), (2, 3, 3, 3), dict(padding=1)),
    (3, (5, 2, 5, 6, 5), (2, 1, 2, 3, 2), dict(stride=(1, 2, 1), padding=1, groups=2)),
]
TCONV_CASES = [
    (1, (5, 4, 6), (4, 3, 3), dict(stride=3, padding=2, output_padding=1, groups=2, dilation=2)),
    (2, (5, 2, 4, 3), (2, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    (2, (5, 4, 3, 3), (4, 1, 4, 4), dict(stride=2, padding=1, groups=2, dilation=(1, 2))),
    (3, (5, 2, 3, 2, 3), (2, 2, 2, 3, 2), dict(stride=(2, 1, 2), output_padding=(1, 0, 0))),
]


def _leaves(*shapes):
    g = torch.Generator().manual_seed(sum(map(sum, shapes)))
    return [torch.randn(*s, dtype=torch.float64, generator=g, requires_grad=True) for s in shapes]


def _grads(fn, leaves, create_graph=False):
    out = fn(*leaves)
    gy = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(1))
    return torch.autograd.grad(out, leaves, gy, create_graph=create_graph)


def _cases():
    for n, xs, ws, kw in CONV_CASES:
        yield (
            f"conv{n}d {xs}",
            lambda *t, n=n, kw=kw: OURS_CONV[n](*t, **kw),
            lambda *t, n=n, kw=kw: CONV[n](*t, **kw),
            (xs, ws, (ws[0],)),
        )
    for method in convlab.TRANSPOSE_METHODS:
        for n, xs, ws, kw in TCONV_CASES:
            yield (
                f"conv_transpose{n}d {method} {xs}",
                lambda *t, n=n, kw=kw, m=method: OURS_TCONV[n](*t, **kw, method=m),
                lambda *t, n=n, kw=kw: TCONV[n](*t, **kw),
                (xs, ws, (ws[1] * kw.get("groups", 1),)),
            )


CASES = list(_cases())
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("chunk_bytes", [1, ops.CHUNK_BYTES], ids=["one-sample-chunks", "default"])
@pytest.mark.parametrize("create_graph", [False, True], ids=["in-place", "recorded"])
@pytest.mark.parametrize("name,ours,theirs,shapes", CASES, ids=IDS)
def test_gradients_equal_torch(monkeypatch, name, ours, theirs, shapes, create_graph, chunk_bytes):
    monkeypatch.setattr(ops, "CHUNK_BYTES", chunk_bytes)
    leaves = _leaves(*shapes)
    got = _grads(ours, leaves, create_graph)
    want = _grads(theirs, leaves)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **F64)


@pytest.mark.parametrize("name,ours,theirs,shapes", CASES, ids=IDS)
def test_only_input_and_weight_are_saved(name, ours, theirs, shapes):
    """No unfolded matrix is kept for the backward: what autograd saves is
    exactly the input and the weight (so memory does not grow with k*k)."""
    leaves = _leaves(*shapes)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        ours(*leaves)
    x, w, _ = leaves
    assert sorted(t.numel() for t in saved) == sorted([x.numel(), w.numel()])


@pytest.mark.parametrize("name,ours,theirs,shapes", CASES, ids=IDS)
def test_forward_mode_equals_torch(name, ours, theirs, shapes):
    leaves = [t.detach() for t in _leaves(*shapes)]
    tangents = [torch.randn_like(t) for t in leaves]
    got = torch.func.jvp(ours, tuple(leaves), tuple(tangents))
    want = torch.func.jvp(theirs, tuple(leaves), tuple(tangents))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **F64)


@pytest.mark.parametrize("name,ours,theirs,shapes", CASES[:3] + CASES[6:7], ids=IDS[:3] + IDS[6:7])
def test_compiled_forward_and_backward_equal_torch(name, ours, theirs, shapes):
    """AOTAutograd traces the Function's forward and backward into graphs."""
    torch._dynamo.reset()
    leaves = _leaves(*shapes)
    got = _grads(torch.compile(ours, backend="aot_eager", fullgraph=True), leaves)
    want = _grads(theirs, leaves)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **F64)


def test_transposed_backward_does_not_depend_on_the_method():
    n, xs, ws, kw = TCONV_CASES[1]
    leaves = _leaves(xs, ws, (ws[1],))
    by_method = [
        _grads(lambda *t, m=m: OURS_TCONV[n](*t, **kw, method=m), leaves)
        for m in convlab.TRANSPOSE_METHODS
    ]
    for a, b in zip(*by_method):
        assert torch.equal(a, b)


def test_per_sample_gradients_with_chunks(monkeypatch):
    """vmap(grad) runs the backward batched (generate_vmap_rule), chunked or not."""
    monkeypatch.setattr(ops, "CHUNK_BYTES", 1)
    x, w, b = _leaves((6, 3, 7, 7), (4, 3, 3, 3), (4,))

    def loss(xn, w):
        return convlab.conv2d(xn[None], w, b, stride=2, padding=1).square().sum()

    per_sample = torch.func.vmap(torch.func.grad(loss, argnums=1), in_dims=(0, None))(x, w)
    for i in range(x.shape[0]):
        (want,) = torch.autograd.grad(
            F.conv2d(x[i : i + 1], w, b, stride=2, padding=1).square().sum(), w
        )
        torch.testing.assert_close(per_sample[i], want, **F64)


@pytest.mark.parametrize("name,ours,theirs,shapes", CASES, ids=IDS)
def test_complex_gradients_take_conjugates(name, ours, theirs, shapes):
    """PyTorch's convention for complex tensors: grad_x = fold(W^H G) and
    grad_W = G unfold(x)^H. gradcheck in complex128, and torch's gradients."""
    g = torch.Generator().manual_seed(3)
    leaves = [
        torch.randn(*s, dtype=torch.complex128, generator=g, requires_grad=True) for s in shapes
    ]
    if leaves[0].shape[0] == 0:
        pytest.skip("an empty batch has nothing to check")
    assert torch.autograd.gradcheck(ours, leaves)
    got = _grads(ours, leaves)
    want = _grads(theirs, leaves)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **F64)


def _largest_self_allocation(fn, *args):
    """Bytes of the largest buffer any operator allocated itself while ``fn`` ran."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(*args)
    return max(e.self_cpu_memory_usage for e in prof.events())


def test_weight_gradient_materialises_no_per_sample_gradients():
    """A deep layer, where a chunk's per-sample weight gradients (n, C_out, C_in*K)
    would be larger than the chunk's unfolded matrix: the backward's largest
    buffer is at most a chunk's matrix or an output (the input gradient)."""
    x = torch.randn(8, 256, 7, 7, requires_grad=True)
    weight = torch.randn(256, 256, 3, 3, requires_grad=True)
    y = convlab.conv2d(x, weight, padding=1)
    per_sample_grads = 8 * weight.numel() * 4
    largest = _largest_self_allocation(y.backward, torch.ones_like(y))
    assert largest <= max(ops.CHUNK_BYTES, x.numel() * 4, weight.numel() * 4)
    assert largest < per_sample_grads / 4


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name,ours,theirs,shapes", CASES[:2] + CASES[6:7], ids=IDS[:2] + IDS[6:7])
def test_low_precision_is_saved_in_its_own_dtype(name, ours, theirs, shapes, dtype):
    """float16 and bfloat16 are widened inside the Function: what autograd keeps
    is the input and the weight in their own dtype (the bytes torch keeps), and
    the gradients come back in that dtype."""
    g = torch.Generator().manual_seed(0)
    leaves = [torch.randn(*s, generator=g).to(dtype).requires_grad_() for s in shapes]
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = ours(*leaves)
    x, w, _ = leaves
    assert sorted((t.dtype, t.numel()) for t in saved) == sorted(
        [(dtype, x.numel()), (dtype, w.numel())]
    )
    grads = torch.autograd.grad(out, leaves, torch.ones_like(out))
    assert [t.dtype for t in grads] == [dtype] * 3
