"""Lowered convolutions: unfold, fold, conv and conv_transpose from tensor views.

Nothing here calls ``F.unfold``, ``F.fold``, ``F.conv*`` or
``F.conv_transpose*``. The building blocks are ``F.pad`` (zeros, or a crop when
negative), ``Tensor.unfold`` (a strided *view* with one window per block),
strided slicing, ``reshape`` and ``matmul``. Every function accepts 1, 2 or 3
spatial dimensions, batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``
input, and is differentiable with respect to every tensor argument.

Chapters: unfold in chapter 1, fold in chapter 2, conv in chapter 3,
conv_transpose in chapter 4.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

from . import shapes
from .shapes import _as_int, _infer_ndim, _is_sequence

__all__ = [
    "unfold",
    "fold",
    "fold_divisor",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "TRANSPOSE_METHODS",
    "conv_matrix",
]

TRANSPOSE_METHODS = ("fold", "rot90")


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------
def _check_tensor(value, name):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")


def _batch(x, n, name, fname):
    """Return ``(x with a batch dim, was_batched)`` for ``n`` spatial dims."""
    if x.dim() == n + 2:
        return x, True
    if x.dim() == n + 1:
        return x.unsqueeze(0), False
    raise ValueError(
        f"{name} has shape {tuple(x.shape)} ({x.dim()}-D), but {fname} with {n} spatial "
        f"dimension{'s' if n != 1 else ''} needs {n + 2}-D (N, C, *spatial) or "
        f"{n + 1}-D (C, *spatial) input"
    )


def _torch_pad_list(pairs):
    """``[(before, after), ...]`` per dim (first dim first) -> F.pad's flat list."""
    flat = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


def _pad(x, pairs):
    if any(v for pair in pairs for v in pair):
        return F.pad(x, _torch_pad_list(pairs))
    return x


def _check_method(method):
    if method not in TRANSPOSE_METHODS:
        raise ValueError(
            f"method={method!r} is not a known method: use 'fold' (matmul with the "
            f"transposed weight, then col2im) or 'rot90' (zero insertion, padding, and a "
            f"convolution with the 180-degree rotated kernel)"
        )


# --------------------------------------------------------------------------
# unfold / fold
# --------------------------------------------------------------------------
def _unfold_batched(x, k, d, pads, s):
    """im2col on a batched tensor with validated per-dim params.

    Pads, then takes one strided window view per spatial dim with
    ``Tensor.unfold(dim, d*(k-1)+1, s)`` and keeps every ``d``-th element of
    each window (the dilation gaps). The view has shape
    ``(N, C, *out, *k)``; permuting to ``(N, C, *k, *out)`` and reshaping makes
    the rows channel-major ``(c, i, j)`` and the columns row-major blocks.
    """
    n = len(k)
    x = _pad(x, pads)
    for i in range(n):
        x = x.unfold(2 + i, d[i] * (k[i] - 1) + 1, s[i])
        if d[i] > 1:
            x = x[..., :: d[i]]
    N, C = x.shape[:2]
    out = x.shape[2 : 2 + n]
    perm = [0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n)]
    return x.permute(perm).reshape(N, C * math.prod(k), math.prod(out))


def _ndim_for_unfold(x, kernel_size, dilation, padding, stride):
    """Spatial rank for unfold: a tuple kernel_size's length, else other tuples,
    else F.unfold's rule."""
    if _is_sequence(kernel_size) and not (len(kernel_size) == 1 and x.dim() == 4):
        return len(kernel_size)
    n = _infer_ndim(
        ("dilation", dilation),
        ("padding", padding),
        ("stride", stride),
        default=0,
    )
    if n:
        return n
    # Int parameters: follow F.unfold (3-D and 4-D input are 2-D images).
    return {2: 1, 3: 2, 4: 2, 5: 3}.get(x.dim(), 2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col): ``(N, C, *spatial) -> (N, C*prod(k), L)``.

    Row ``c*prod(k) + (kernel offset, row-major)`` and column ``l`` (block
    index, row-major over the block grid) hold ``x_padded[n, c, l*s + i*d]``
    (per spatial dim). The number of blocks is::

        L = prod over dims of floor((in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1

    Identical to ``F.unfold`` where that is defined (2-D, floating point) and
    also works for 1-D and 3-D input, unbatched ``(C, *spatial)`` input and any
    dtype, integers and bool included. The number of spatial dims is the length
    of a tuple parameter; with int parameters it follows ``F.unfold`` (3-D and
    4-D input are images) and 5-D input is a volume, 2-D a signal.

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    _check_tensor(input, "input")
    n = _ndim_for_unfold(input, kernel_size, dilation, padding, stride)
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r} is not supported by unfold: give an int or a tuple")
    x, batched = _batch(input, n, "input", "unfold")
    _, k, s, pads, d = shapes.normalize(x.shape[2:], kernel_size, stride, padding, dilation, ndim=n)
    cols = _unfold_batched(x, k, d, pads, s)
    return cols if batched else cols.squeeze(0)


def _fold_batched(cols, size, k, d, pads, s):
    """col2im: add every column of ``cols`` back where its block came from.

    ``cols`` is ``(N, C*prod(k), L)`` and already validated. For each kernel
    offset (one of prod(k)) the values of all L blocks go to a strided slice of
    the padded image, ``start = offset*d``, ``step = s``; overlaps add up. The
    padding is cropped at the end.
    """
    n = len(k)
    N = cols.shape[0]
    C = cols.shape[1] // math.prod(k)
    blocks = tuple(
        (size[i] + pads[i][0] + pads[i][1] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(n)
    )
    padded = tuple(size[i] + pads[i][0] + pads[i][1] for i in range(n))
    out = cols.new_zeros((N, C, *padded))
    cols = cols.reshape(N, C, *k, *blocks)
    everything = (slice(None), slice(None))
    for offset in itertools.product(*(range(ki) for ki in k)):
        target = tuple(
            slice(offset[i] * d[i], offset[i] * d[i] + (blocks[i] - 1) * s[i] + 1, s[i])
            for i in range(n)
        )
        out[everything + target] += cols[everything + offset]
    if any(v for pair in pads for v in pair):
        crop = tuple(slice(pads[i][0], pads[i][0] + size[i]) for i in range(n))
        out = out[everything + crop].contiguous()
    return out


def _blocks_hint(L, given_blocks, k, d, p, s):
    """Suggest image sizes for a block count ``L`` that does not match."""
    n = len(k)
    candidates = []
    # The usual mistake: passing the conv's output size, which *is* the block grid.
    if math.prod(given_blocks) == L:
        candidates.append(tuple(given_blocks))
    root = round(L ** (1.0 / n))
    for r in (root - 1, root, root + 1):
        if r >= 1 and r**n == L:
            candidates.append((r,) * n)
    if n == 2:
        for i in range(2):
            if given_blocks[i] >= 1 and L % given_blocks[i] == 0:
                other = L // given_blocks[i]
                grid = (given_blocks[0], other) if i == 0 else (other, given_blocks[1])
                candidates.append(grid)
    if n == 1:
        candidates.append((L,))
    lines = []
    for grid in dict.fromkeys(candidates):
        sizes = shapes.fold_output_sizes_for(grid, k, d, p, s)
        if all(sizes):
            shown = " x ".join(
                "(" + " or ".join(map(str, per_dim)) + ")" if len(per_dim) > 1 else str(per_dim[0])
                for per_dim in sizes
            )
            example = tuple(per_dim[-1] for per_dim in sizes)
            lines.append(
                f"a {' x '.join(map(str, grid))} grid of blocks comes from an image of "
                f"{shown} pixels, e.g. output_size={example}"
            )
    return lines


def _ndim_for_fold(output_size, kernel_size, dilation, padding, stride):
    """Spatial rank for fold: the length of output_size (or kernel_size) if a tuple, else 2."""
    for value in (output_size, kernel_size):
        if _is_sequence(value):
            return len(value)
    return _infer_ndim(("dilation", dilation), ("padding", padding), ("stride", stride), default=2)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding blocks into an image (col2im), summing where blocks overlap.

    ``(N, C*prod(k), L) -> (N, C, *output_size)``; ``output_size`` is the size
    of the image the blocks came from (before padding), **not** the size of a
    convolution's output. It must imply exactly ``L`` blocks::

        L = prod over dims of
            floor((output_size + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1

    ``fold(unfold(x)) == fold_divisor(...) * x``: fold is unfold's adjoint, not
    its inverse. Identical to ``F.fold`` in 2-D; also 1-D and 3-D (the number of
    spatial dims is the length of ``output_size``, else of ``kernel_size``, else
    of another tuple parameter; all ints means 2-D, as in ``F.fold``) and
    unbatched ``(C*prod(k), L)`` input.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    _check_tensor(input, "input")
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r} is not supported by fold: give an int or a tuple")
    n = _ndim_for_fold(output_size, kernel_size, dilation, padding, stride)
    if input.dim() not in (2, 3):
        raise ValueError(
            f"input has shape {tuple(input.shape)} ({input.dim()}-D), but fold needs 3-D "
            "(N, C*prod(kernel_size), L) or 2-D (C*prod(kernel_size), L) input"
        )
    batched = input.dim() == 3
    cols = input if batched else input.unsqueeze(0)
    size = shapes._spatial(output_size, n, "output_size")
    k = shapes._as_tuple(kernel_size, n, "kernel_size", minimum=1)
    d = shapes._as_tuple(dilation, n, "dilation", minimum=1)
    p = shapes._as_tuple(padding, n, "padding", minimum=0)
    s = shapes._as_tuple(stride, n, "stride", minimum=1)
    K = math.prod(k)
    if cols.shape[1] % K:
        raise ValueError(
            f"input has {cols.shape[1]} rows (dim {cols.dim() - 2 if batched else 0}), which is "
            f"not a multiple of prod(kernel_size) = {K} for kernel_size={kernel_size!r}: "
            "fold expects C*prod(kernel_size) rows, channel-major"
        )
    _, _, _, pads, _ = shapes.normalize(size, k, s, p, d, ndim=n)
    blocks = shapes.conv_output_shape(size, k, s, p, d)
    expected = math.prod(blocks)
    L = cols.shape[2]
    if L != expected:
        formula = " * ".join(
            f"(({size[i]} + 2*{p[i]} - {d[i]}*({k[i]}-1) - 1) // {s[i]} + 1)" for i in range(n)
        )
        hints = _blocks_hint(L, blocks, k, d, p, s)
        hint = ("; " + "; ".join(hints)) if hints else ""
        raise ValueError(
            f"fold got L={L} blocks, but output_size={tuple(size)!r} implies L = {formula} "
            f"= {' * '.join(map(str, blocks))} = {expected}. output_size is the size of the "
            f"image the blocks came from (the input of unfold), not the convolution's output "
            f"size{hint}"
        )
    out = _fold_batched(cols, size, k, d, pads, s)
    return out if batched else out.squeeze(0)


def fold_divisor(output_size, kernel_size, dilation=1, padding=0, stride=1, *, dtype=None):
    """How many blocks cover each pixel: ``fold(unfold(ones))``, shape ``output_size``.

    ``fold(unfold(x)) == divisor * x`` for every ``x`` of that spatial size, so
    where the divisor has no zeros, ``fold(unfold(x)) / divisor`` recovers
    ``x``. A zero means no block covers that pixel (stride larger than the
    dilated kernel, or rows/columns dropped by the floor in the size formula):
    there, no inverse exists. ``dtype`` defaults to torch's default dtype.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    n = _ndim_for_fold(output_size, kernel_size, dilation, padding, stride)
    size = shapes._spatial(output_size, n, "output_size")
    ones = torch.ones((1, 1, *size), dtype=dtype or torch.get_default_dtype())
    _, k, s, pads, d = shapes.normalize(size, kernel_size, stride, padding, dilation, ndim=n)
    return _fold_batched(_unfold_batched(ones, k, d, pads, s), size, k, d, pads, s)[0, 0]


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------
def _check_pair(x, weight, bias, fname):
    _check_tensor(x, "input")
    _check_tensor(weight, "weight")
    if bias is not None:
        _check_tensor(bias, "bias")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"{name} has dtype {t.dtype} but input has dtype {x.dtype}: {fname} needs "
                "input, weight and bias of one dtype"
            )
        if t is not None and t.device != x.device:
            raise ValueError(
                f"{name} is on {t.device} but input is on {x.device}: {fname} needs all "
                "tensors on one device"
            )


def _check_weight_rank(weight, n, fname, layout):
    if weight.dim() != n + 2:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)} ({weight.dim()}-D), but {fname} needs "
            f"{n + 2}-D weight {layout}"
        )


def _check_groups(groups, C_in):
    """Validate ``groups`` (a positive int dividing the input channels)."""
    g = _as_int(groups, "groups")
    if g < 1:
        raise ValueError(f"groups={groups!r} is invalid: groups must be positive (>= 1)")
    if C_in % g:
        raise ValueError(
            f"groups={g} does not divide the input channels C_in={C_in}: each group "
            "takes C_in/groups channels"
        )
    return g


def _check_conv_weight(weight, g, C_in, fname):
    C_out, per_group_in = weight.shape[:2]
    if C_out % g:
        raise ValueError(
            f"groups={g} does not divide the output channels C_out={C_out} "
            f"(weight.shape[0]): each group makes C_out/groups channels"
        )
    if per_group_in * g != C_in:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}: C_in/groups = {per_group_in} channels "
            f"per group times groups={g} is {per_group_in * g} input channels, but input "
            f"has C_in={C_in}; {fname} needs weight of shape (C_out, C_in/groups, *kernel_size)"
        )


def _check_bias(bias, C_out):
    if bias is not None and tuple(bias.shape) != (C_out,):
        raise ValueError(
            f"bias has shape {tuple(bias.shape)}, but the output has C_out={C_out} channels: "
            f"bias must have shape ({C_out},)"
        )


# Unfold at most this many bytes at once: a batch whose unfolded matrix is
# larger is lowered in chunks of samples (as torch's own CPU ``slow_conv2d``
# does per sample). The matrix then stays in cache and the allocator reuses its
# memory instead of faulting in fresh pages: about 2x faster for an
# (8, 64, 56, 56) input (``benchmarks/ops.py``), identical results.
CHUNK_BYTES = 32 * 2**20


def _matmul_conv(x, weight, s, pads, d, g):
    """The lowered convolution on batched input with validated params.

    ``cols = unfold(x)``: ``(N, C_in*K, L)``; rows split into ``g`` blocks of
    ``(C_in/g)*K`` and weight rows into ``g`` blocks of ``C_out/g``;
    ``out = weight.view(g, C_out/g, -1) @ cols.view(N, g, -1, L)``. Large
    batches are processed ``CHUNK_BYTES`` of unfolded matrix at a time.
    """
    n = weight.dim() - 2
    k = tuple(weight.shape[2:])
    N, C_in = x.shape[:2]
    C_out = weight.shape[0]
    out_shape = tuple(
        (x.shape[2 + i] + pads[i][0] + pads[i][1] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        for i in range(n)
    )
    L = math.prod(out_shape)
    w = weight.reshape(C_out, -1) if g == 1 else weight.reshape(g, C_out // g, -1)

    def lowered(xs):
        cols = _unfold_batched(xs, k, d, pads, s)  # (n, C_in*K, L)
        if g == 1:
            return w @ cols  # (n, C_out, L)
        return w @ cols.reshape(xs.shape[0], g, cols.shape[1] // g, L)  # (n, g, C_out/g, L)

    per_sample = C_in * math.prod(k) * L * x.element_size()
    step = max(1, CHUNK_BYTES // max(per_sample, 1))
    if N <= step:
        out = lowered(x)
    else:
        out = torch.cat([lowered(x[i : i + step]) for i in range(0, N, step)])
    return out.reshape(N, C_out, *out_shape)


def _add_bias(out, bias):
    if bias is None:
        return out
    return out + bias.reshape(1, -1, *([1] * (out.dim() - 2)))


def _conv(n, fname, input, weight, bias, stride, padding, dilation, groups):
    _check_pair(input, weight, bias, fname)
    x, batched = _batch(input, n, "input", fname)
    _check_weight_rank(weight, n, fname, "(C_out, C_in/groups, *kernel_size)")
    C_out = weight.shape[0]
    g = _check_groups(groups, x.shape[1])
    _check_conv_weight(weight, g, x.shape[1], fname)
    _check_bias(bias, C_out)
    _, _, s, pads, d = shapes.normalize(
        tuple(x.shape[2:]), tuple(weight.shape[2:]), stride, padding, dilation, ndim=n
    )
    out = _add_bias(_matmul_conv(x, weight, s, pads, d, g), bias)
    return out if batched else out.squeeze(0)


_CONV_DOC = """{n}-D convolution as unfold -> matmul -> view (same signature as ``F.{fname}``).

    ``input`` is ``(N, C_in, {spatial})`` or unbatched; ``weight`` is
    ``(C_out, C_in/groups, {kernel})``. With ``cols = unfold(input)`` of shape
    ``(N, C_in*prod(k), L)``::

        out = (weight.view(C_out, -1) @ cols).view(N, C_out, *out_size) + bias[:, None, ...]
        out_size = floor((in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1

    With ``groups=g`` the rows of ``cols`` split into ``g`` contiguous blocks
    of ``(C_in/g)*prod(k)`` and the rows of the weight into ``g`` blocks of
    ``C_out/g``; each block multiplies its own. ``padding`` may be an int, a
    tuple, ``'valid'`` or ``'same'`` (stride 1 only; an even dilated kernel
    gets its extra zero at the end, as in torch).

    Taught in chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``).
    """


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


conv1d.__doc__ = _CONV_DOC.format(n=1, fname="conv1d", spatial="L", kernel="k")
conv2d.__doc__ = _CONV_DOC.format(n=2, fname="conv2d", spatial="H, W", kernel="kH, kW")
conv3d.__doc__ = _CONV_DOC.format(n=3, fname="conv3d", spatial="D, H, W", kernel="kD, kH, kW")


# --------------------------------------------------------------------------
# transposed convolution
# --------------------------------------------------------------------------
def _tconv_fold(x, weight, k, s, p, op, d, g):
    """col2im: ``cols = W^T @ x`` per group, fold at full size, then crop/pad.

    Full size per dim is ``(in-1)*s + d*(k-1) + 1``; the result keeps
    ``[p, p + out)`` of it, zero-filling past the end when output_padding > padding.
    """
    n = len(k)
    N, C_in = x.shape[:2]
    spatial = tuple(x.shape[2:])
    C_out = weight.shape[1] * g
    L_in = math.prod(spatial)
    w = weight.reshape(g, C_in // g, -1)  # (g, C_in/g, C_out/g*K)
    cols = w.transpose(1, 2) @ x.reshape(N, g, C_in // g, L_in)  # (N, g, C_out/g*K, L_in)
    cols = cols.reshape(N, C_out * math.prod(k), L_in)
    full = tuple((spatial[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 for i in range(n))
    y = _fold_batched(cols, full, k, d, ((0, 0),) * n, s)
    return F.pad(y, _torch_pad_list([(-p[i], op[i] - p[i]) for i in range(n)]))


def _tconv_rot90(x, weight, k, s, p, op, d, g):
    """Gather form: zero insertion, pad d(k-1)-p (+ output_padding at the end),
    rotate the kernel 180 degrees and swap in/out channels within each group,
    then a stride-1 convolution with dilation d."""
    n = len(k)
    N, C_in = x.shape[:2]
    spatial = tuple(x.shape[2:])
    if any(si > 1 for si in s):
        up = x.new_zeros((N, C_in, *((spatial[i] - 1) * s[i] + 1 for i in range(n))))
        up[(slice(None), slice(None)) + tuple(slice(None, None, si) for si in s)] = x
    else:
        up = x
    q = [d[i] * (k[i] - 1) - p[i] for i in range(n)]
    up = F.pad(up, _torch_pad_list([(q[i], q[i] + op[i]) for i in range(n)]))
    C_out_g = weight.shape[1]
    w = (
        weight.reshape(g, C_in // g, C_out_g, *k)
        .transpose(1, 2)
        .reshape(g * C_out_g, C_in // g, *k)
    )
    w = w.flip(dims=tuple(range(2, 2 + n)))  # 2-D: torch.rot90(w, 2, dims=[2, 3])
    return _matmul_conv(up, w, (1,) * n, ((0, 0),) * n, d, g)


def _conv_transpose(
    n, fname, input, weight, bias, stride, padding, output_padding, groups, dilation, method
):
    _check_method(method)
    _check_pair(input, weight, bias, fname)
    x, batched = _batch(input, n, "input", fname)
    _check_weight_rank(weight, n, fname, "(C_in, C_out/groups, *kernel_size)")
    C_in = x.shape[1]
    if weight.shape[0] != C_in:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}, whose first dim {weight.shape[0]} must "
            f"equal the input channels C_in={C_in}: {fname} needs weight of shape "
            "(C_in, C_out/groups, *kernel_size)"
        )
    g = _check_groups(groups, C_in)
    C_out = weight.shape[1] * g
    _check_bias(bias, C_out)
    if isinstance(padding, str):
        raise ValueError(
            f"padding={padding!r} is not supported by {fname}: give an int or a tuple of ints"
        )
    k = tuple(weight.shape[2:])
    shapes.conv_transpose_output_shape(
        tuple(x.shape[2:]), k, stride, padding, output_padding, dilation
    )
    s = shapes._as_tuple(stride, n, "stride", minimum=1)
    p = shapes._as_tuple(padding, n, "padding", minimum=0)
    op = shapes._as_tuple(output_padding, n, "output_padding", minimum=0)
    d = shapes._as_tuple(dilation, n, "dilation", minimum=1)
    impl = _tconv_fold if method == "fold" else _tconv_rot90
    out = _add_bias(impl(x, weight, k, s, p, op, d, g), bias)
    return out if batched else out.squeeze(0)


_TCONV_DOC = """{n}-D transposed convolution, by col2im or by a rotated-kernel convolution.

    Same signature as ``F.{fname}`` plus ``method``. ``input`` is
    ``(N, C_in, {spatial})`` or unbatched; ``weight`` is
    ``(C_in, C_out/groups, {kernel})``. Output size per dim::

        out = (in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1

    ``method="fold"`` (scatter, col2im): ``cols = weight.view(C_in, -1).T @ x``
    per group, then ``fold`` to the full size ``(in-1)*s + d*(k-1) + 1`` and
    keep ``[padding, padding + out)``.

    ``method="rot90"`` (gather): insert ``stride-1`` zeros between input
    elements, pad ``d*(k-1) - padding`` per side (crop where negative) plus
    ``output_padding`` at the end only, rotate the kernel 180 degrees and swap
    in/out channels within each group, then convolve with stride 1 and
    dilation ``d``. Both equal torch; "fold" does no work on inserted zeros.

    Taught in chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
    """


def conv_transpose1d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    method="fold",
):
    return _conv_transpose(
        1,
        "conv_transpose1d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        method,
    )


def conv_transpose2d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    method="fold",
):
    return _conv_transpose(
        2,
        "conv_transpose2d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        method,
    )


def conv_transpose3d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    method="fold",
):
    return _conv_transpose(
        3,
        "conv_transpose3d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        method,
    )


conv_transpose1d.__doc__ = _TCONV_DOC.format(n=1, fname="conv_transpose1d", spatial="L", kernel="k")
conv_transpose2d.__doc__ = _TCONV_DOC.format(
    n=2, fname="conv_transpose2d", spatial="H, W", kernel="kH, kW"
)
conv_transpose3d.__doc__ = _TCONV_DOC.format(
    n=3, fname="conv_transpose3d", spatial="D, H, W", kernel="kD, kH, kW"
)


def conv_matrix(input_size, weight, stride=1, padding=0, dilation=1):
    """The convolution as one big matrix acting on the flattened image.

    For a single-channel 2-D ``weight`` of shape ``(kH, kW)`` returns ``Cm`` of
    shape ``(H_out*W_out, H*W)`` with ``conv2d(x, weight).flatten() == Cm @
    x.flatten()``. Column ``j`` is the convolution of the ``j``-th basis image
    (a one at pixel ``j``), so ``Cm[o, j]`` is the weight that output pixel
    ``o`` applies to input pixel ``j`` (zero where the block misses it). Its
    transpose is the transposed convolution: ``Cm.T @ y.flatten() ==
    conv_transpose2d(y, weight).flatten()``.

    Taught in chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``) and
    used in chapter 4.
    """
    _check_tensor(weight, "weight")
    if weight.dim() != 2:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}, but conv_matrix needs a single-channel "
            "2-D kernel of shape (kH, kW)"
        )
    size = shapes._spatial(input_size, 2)
    H, W = size
    basis = torch.eye(H * W, dtype=weight.dtype).view(H * W, 1, H, W)  # one image per pixel
    out = conv2d(basis, weight[None, None], None, stride, padding, dilation)  # (HW, 1, Ho, Wo)
    return out.reshape(H * W, -1).T.contiguous()
