"""Lowered convolutions: unfold, fold, conv and conv_transpose from tensor views.

Nothing here calls ``F.unfold``, ``F.fold``, ``F.conv*`` or
``F.conv_transpose*`` (a test records every aten op dispatched). The building
blocks are ``F.pad`` (zeros, or a crop when negative), ``Tensor.unfold`` (a
strided *view* with one window per block), strided slicing, ``reshape`` and
``matmul``; where padding would dwarf the input, ``index_select`` and
``index_add`` read and write only what the blocks touch. ``unfold``/``fold``
take exactly the images that ``F.unfold``/``F.fold`` take, and
``unfold1d``/``fold1d`` and ``unfold3d``/``fold3d`` signals and volumes; the
convolutions take batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``
input. No parameter's length ever changes how an input is read. Everything is
differentiable with respect to every tensor argument, twice and in forward
mode. The convolutions have their own backward (``_Conv``,
``_ConvTranspose``): ``fold(W^T @ grad_y)`` for the input, ``grad_y @
unfold(x)^T`` for the weight (recomputed chunk by chunk: only the input and
the weight are saved), a sum for the bias.

Chapters: unfold in chapter 1, fold in chapter 2, conv in chapter 3,
conv_transpose in chapter 4, the backward in chapter 5.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

from . import shapes
from .shapes import _as_int, _is_sequence

__all__ = [
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
    """Zero-pad the spatial dims by ``(before, after)`` pairs; a negative
    amount crops (even past the far end, which then is padding)."""
    grow = [(max(b, 0), max(a, 0)) for b, a in pairs]
    if any(v for pair in grow for v in pair):
        x = F.pad(x, _torch_pad_list(grow))
    for i, (b, a) in enumerate(pairs):
        if b < 0 or a < 0:
            size = x.shape[2 + i] - max(b, 0) - max(a, 0)  # the unpadded size
            x = x.narrow(2 + i, max(-b, 0), size + b + a)
    return x


# float16 and bfloat16 are summed in float32 and rounded once at the end, as
# torch's own CPU kernels accumulate: summing in 16 bits loses digits with
# every addition (the tests bound convlab's error by twice torch's).
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _widen(*tensors):
    """``(tensors in float32 where low precision, the dtype to return)``."""
    dtype = tensors[0].dtype
    if dtype not in _LOW_PRECISION:
        return tensors, dtype
    return tuple(None if t is None else t.float() for t in tensors), dtype


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
# Padding is applied by copy (``F.pad``, then ``Tensor.unfold`` views) unless
# the padded (and, for a transposed convolution, zero-inserted) copy would be
# more than PAD_COPY_FACTOR times what the op must hold anyway (its input plus
# the unfolded matrix) and more than PAD_COPY_BYTES: then the blocks are
# gathered by index and only what blocks read is read
# (``unfold(x, 2, dilation=8000, padding=4000)`` on a 5 x 5 image allocates
# kilobytes, not the 8005 x 8005 padded image). Both paths give identical
# results (the tests force each one on every case).
PAD_COPY_FACTOR = 4
PAD_COPY_BYTES = 2**20
_FORCE_PATH = None  # tests set "copy" or "index"


def _by_index(shape, itemsize, pads, up=None, cols=0):
    """Whether to pad an ``(N, C, *spatial)`` tensor by index rather than by
    copy (see PAD_COPY_FACTOR); ``cols`` is the number of elements of the
    unfolded matrix."""
    if _FORCE_PATH is not None:
        return _FORCE_PATH == "index"
    if torch.compiler.is_compiling():
        return False  # no size-dependent branch in a traced graph
    up = up or (1,) * len(pads)
    needed = math.prod(shape) + cols
    padded = math.prod(shape[:2]) * math.prod(
        (shape[2 + i] - 1) * up[i] + 1 + max(b, 0) + max(a, 0) for i, (b, a) in enumerate(pads)
    )
    return padded > PAD_COPY_FACTOR * needed and padded * itemsize > PAD_COPY_BYTES


def _insert_zeros(x, up):
    """``up[i] - 1`` zeros between neighbours along every spatial dim (a copy)."""
    for i, u in enumerate(up):
        if u == 1:
            continue
        dim = 2 + i
        size = x.shape[dim]
        gaps = x.new_zeros((*x.shape[: dim + 1], u - 1, *x.shape[dim + 1 :]))
        x = torch.cat([x.unsqueeze(dim + 1), gaps], dim + 1)
        x = x.flatten(dim, dim + 1).narrow(dim, 0, (size - 1) * u + 1)
    return x


def _tap_index(size, out, k, d, before, s, up, device):
    """Where block ``o``'s tap ``i`` reads along one dim: ``o*s + i*d - before``
    in the zero-inserted input, mapped to an input index, or to ``size`` (a
    slot holding zero) for padding and inserted zeros. Shape ``(out*k,)``."""
    pos = (
        torch.arange(out, device=device)[:, None] * s
        + torch.arange(k, device=device)[None, :] * d
        - before
    )
    valid = (pos >= 0) & (pos <= (size - 1) * up)
    if up > 1:
        valid = valid & (pos % up == 0)
        pos = pos // up
    return torch.where(valid, pos, size).reshape(-1)


def _unfold_batched(x, k, d, pads, s, up=None, buffer=None):
    """im2col on a batched tensor with validated per-dim params.

    By copy: pad (crop where a pad is negative), then take one strided window
    view per spatial dim with ``Tensor.unfold(dim, d*(k-1)+1, s)`` and keep
    every ``d``-th element of each window (the dilation gaps). The view has
    shape ``(N, C, *out, *k)``; permuting to ``(N, C, *k, *out)`` and
    reshaping makes the rows channel-major ``(c, i, j)`` and the columns
    row-major blocks. By index: ``index_select`` of the taps
    (:func:`_tap_index`) one dim at a time, with one zero slot appended.
    ``up`` inserts ``up-1`` zeros between input elements first (transposed
    convolution, chapter 4). ``buffer``: a contiguous ``(N, C*K, L)`` buffer to
    write the matrix into (the chunked ops reuse one; see :func:`_over_chunks`).
    """
    n = len(k)
    up = up or (1,) * n
    N, C = x.shape[:2]
    K = math.prod(k)
    out = shapes.block_counts(x.shape[2:], k, s, pads, d, up)
    if _by_index(x.shape, x.element_size(), pads, up, N * C * K * math.prod(out)):
        for i in range(n):
            dim = 2 + i
            size = x.shape[dim]
            zero = x.new_zeros((*x.shape[:dim], 1, *x.shape[dim + 1 :]))
            idx = _tap_index(size, out[i], k[i], d[i], pads[i][0], s[i], up[i], x.device)
            x = torch.cat([x, zero], dim).index_select(dim, idx)  # (.., out*k, ..)
        x = x.reshape(N, C, *(v for i in range(n) for v in (out[i], k[i])))
        perm = [0, 1, *range(3, 2 + 2 * n, 2), *range(2, 2 + 2 * n, 2)]
        return _matrix(x.permute(perm), N, C * K, math.prod(out), buffer)
    x = _pad(_insert_zeros(x, up), pads)
    for i in range(n):
        x = x.unfold(2 + i, d[i] * (k[i] - 1) + 1, s[i])
        if d[i] > 1:
            x = x[..., :: d[i]]
    perm = [0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n)]
    return _matrix(x.permute(perm), N, C * K, math.prod(out), buffer)


def _matrix(blocks, N, rows, L, buffer=None):
    """``blocks`` ``(N, C, *k, *out)`` as the ``(N, rows, L)`` matrix: a copy,
    into ``buffer`` when given."""
    if buffer is None:
        return blocks.reshape(N, rows, L)
    buffer.view(blocks.shape).copy_(blocks)
    return buffer


def _fold_batched(cols, size, k, d, pads, s):
    """col2im: add every column of ``cols`` back where its block came from.

    ``cols`` is ``(N, C*prod(k), L)`` and already validated. By copy: for each
    kernel offset (one of prod(k)) the values of all L blocks go to a strided
    slice of the padded image, ``start = offset*d``, ``step = s``; overlaps
    add up, and the padding is cropped at the end. By index (huge padding):
    ``index_add`` one dim at a time into the image plus one slot that collects
    (and drops) everything that lands on padding: the adjoint of the gather in
    :func:`_unfold_batched`.
    """
    n = len(k)
    N = cols.shape[0]
    C = cols.shape[1] // math.prod(k)
    blocks = shapes.block_counts(size, k, s, pads, d)
    if _by_index((N, C, *size), cols.element_size(), pads, cols=cols.numel()):
        y = cols.reshape(N, C, *k, *blocks)
        perm = [0, 1, *(v for i in range(n) for v in (2 + n + i, 2 + i))]
        y = y.permute(perm).reshape(N, C, *(blocks[i] * k[i] for i in range(n)))
        for i in range(n):
            dim = 2 + i
            idx = _tap_index(size[i], blocks[i], k[i], d[i], pads[i][0], s[i], 1, cols.device)
            target = y.new_zeros((*y.shape[:dim], size[i] + 1, *y.shape[dim + 1 :]))
            y = target.index_add(dim, idx, y).narrow(dim, 0, size[i])
        return y
    # the canvas covers every block (a negative `after` drops their ends)
    padded = tuple(size[i] + pads[i][0] + max(pads[i][1], 0) for i in range(n))
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
    if L < 1:
        return []
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
        sizes = shapes.fold_output_sizes_for(grid, k, dilation=d, padding=p, stride=s)
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


_UNFOLD_NAMES = {1: "unfold1d", 2: "unfold", 3: "unfold3d"}
_FOLD_NAMES = {1: "fold1d", 2: "fold", 3: "fold3d"}
_SPATIAL_NAMES = {1: "W", 2: "H, W", 3: "D, H, W"}


def _check_not_str(padding, fname):
    if isinstance(padding, str):
        raise ValueError(
            f"padding={padding!r} is not supported by {fname}: give an int or a tuple of ints"
        )


def _check_nonempty(x, name, fname, first):
    """Every dim from ``first`` on must be non-empty (as torch requires); ``x``
    is the tensor as the caller passed it."""
    for dim in range(first, x.dim()):
        if x.shape[dim] == 0:
            which = "every dim but the batch dim" if first else "every dim"
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}, with size 0 in dim {dim}: {fname} "
                f"needs {name} with at least one element in {which} (at least one "
                "channel and one pixel; only a batch of 0 is allowed)"
            )


def _unfold(n, input, kernel_size, dilation, padding, stride):
    fname = _UNFOLD_NAMES[n]
    _check_tensor(input, "input")
    _check_not_str(padding, fname)
    if input.dim() not in (n + 1, n + 2):
        raise ValueError(
            f"input has shape {tuple(input.shape)} ({input.dim()}-D), but {fname} needs "
            f"{n + 2}-D (N, C, {_SPATIAL_NAMES[n]}) or {n + 1}-D (C, {_SPATIAL_NAMES[n]}) "
            f"input{_rank_hint(input.dim(), fname)}"
        )
    batched = input.dim() == n + 2
    _check_nonempty(input, "input", fname, 1 if batched else 0)
    x = input if batched else input.unsqueeze(0)
    k, s, pads, d = shapes.conv_params(n, kernel_size, stride, padding, dilation)
    try:
        shapes.check_fits(x.shape[2:], k, pads, d, kernel_size, dilation)
    except ValueError as err:
        if batched or n == 1:
            raise
        other = "signals (N, C, W) is for convlab.unfold1d"
        if n == 3:
            other = "images (N, C, H, W) is for convlab.unfold"
        raise ValueError(
            f"{err}. Note: a {n + 1}-D input {tuple(input.shape)} is read as one unbatched "
            f"(C, {_SPATIAL_NAMES[n]}) {'image' if n == 2 else 'volume'}; a batch of {other}"
        ) from None
    cols = _unfold_batched(x, k, d, pads, s)
    return cols if batched else cols.squeeze(0)


def _rank_hint(dim, fname):
    """Point a batched input of another spatial rank to its own function."""
    other = _UNFOLD_NAMES.get(dim - 2)
    if other is None or other == fname:
        return ""
    return (
        f" (a batch with {dim - 2} spatial dim{'s' if dim != 3 else ''} is for "
        f"convlab.{other}; no parameter ever changes how the input is read)"
    )


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col) from images: ``(N, C, H, W) -> (N, C*kH*kW, L)``.

    Row ``c*kH*kW + i*kW + j`` and column ``l`` (block index, row-major over
    the block grid) hold ``x_padded[n, c, oh*sH + i*dH, ow*sW + j*dW]``. The
    number of blocks is::

        L = prod over (H, W) of
            floor((in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1

    Takes the input shapes ``F.unfold`` takes, ``(N, C, H, W)`` or unbatched
    ``(C, H, W)``, and returns the same, in any dtype (``F.unfold`` refuses
    integer dtypes on the CPU). Each parameter is an int or a tuple of 2; a
    tuple of 1 is replicated (as the ``nn.Unfold`` docstring promises; torch
    2.13's ``nn.Unfold`` and ``F.unfold`` raise there); any other length is a
    ``ValueError``. 1-D signals: :func:`unfold1d`;
    volumes: :func:`unfold3d`.

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    return _unfold(2, input, kernel_size, dilation, padding, stride)


def unfold1d(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of signals: ``(N, C, W) -> (N, C*k, L)`` (or unbatched ``(C, W)``).

    Row ``c*k + i``, column ``l`` hold ``x_padded[n, c, l*stride + i*dilation]``;
    ``L = floor((W + 2*padding - dilation*(k-1) - 1) / stride) + 1``. Equal
    to ``F.unfold(x[:, :, None], (1, k), dilation=(1, dilation),
    padding=(0, padding), stride=(1, stride))``: an image of height 1.

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``, section 1.5).
    """
    return _unfold(1, input, kernel_size, dilation, padding, stride)


def unfold3d(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of volumes: ``(N, C, D, H, W) -> (N, C*kD*kH*kW, L)`` (or unbatched).

    Rows are channel-major, then kernel offsets ``(a, i, j)`` row-major;
    columns are blocks, row-major over the ``(D_out, H_out, W_out)`` grid,
    each size ``floor((in + 2p - d(k-1) - 1) / s) + 1``.

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``, section 1.5).
    """
    return _unfold(3, input, kernel_size, dilation, padding, stride)


def _fold(n, input, output_size, kernel_size, dilation, padding, stride):
    fname = _FOLD_NAMES[n]
    _check_tensor(input, "input")
    _check_not_str(padding, fname)
    if input.dim() not in (2, 3):
        raise ValueError(
            f"input has shape {tuple(input.shape)} ({input.dim()}-D), but {fname} needs 3-D "
            "(N, C*prod(kernel_size), L) or 2-D (C*prod(kernel_size), L) input"
        )
    batched = input.dim() == 3
    cols = input if batched else input.unsqueeze(0)
    size = shapes._spatial(output_size, n, "output_size")
    k, s, pads, d = shapes.conv_params(n, kernel_size, stride, padding, dilation)
    p = tuple(b for b, _ in pads)
    K = math.prod(k)
    rows = cols.shape[1]
    if rows == 0 or rows % K:
        raise ValueError(
            f"input has {rows} rows (dim {1 if batched else 0}), which is not a positive "
            f"multiple of prod(kernel_size) = {K} for kernel_size={kernel_size!r}: {fname} "
            "expects C*prod(kernel_size) rows, channel-major, with C >= 1"
        )
    shapes.check_fits(size, k, pads, d, kernel_size, dilation)
    blocks = shapes.block_counts(size, k, s, pads, d)
    expected = math.prod(blocks)
    L = cols.shape[2]
    if L != expected:
        formula = " * ".join(
            f"(({size[i]} + 2*{p[i]} - {d[i]}*({k[i]}-1) - 1) // {s[i]} + 1)" for i in range(n)
        )
        hints = _blocks_hint(L, blocks, k, d, p, s)
        hint = ("; " + "; ".join(hints)) if hints else ""
        raise ValueError(
            f"{fname} got L={L} blocks, but output_size={tuple(size)!r} implies L = {formula} "
            f"= {' * '.join(map(str, blocks))} = {expected}. output_size is the size of the "
            f"image the blocks came from (the input of unfold), not the convolution's output "
            f"size{hint}"
        )
    (wide,), dtype = _widen(cols)
    out = _fold_batched(wide, size, k, d, pads, s).to(dtype)
    return out if batched else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding blocks into images (col2im), summing where blocks overlap.

    ``(N, C*kH*kW, L) -> (N, C, *output_size)`` (or unbatched
    ``(C*kH*kW, L) -> (C, *output_size)``); ``output_size`` is the size of
    the image the blocks came from (before padding), **not** the size of a
    convolution's output. It must imply exactly ``L`` blocks::

        L = prod over (H, W) of
            floor((output_size + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1

    ``fold(unfold(x)) == fold_divisor(...) * x``: fold is unfold's adjoint, not
    its inverse. Takes the input shapes ``F.fold`` takes; each parameter (and
    ``output_size``) is an int or a tuple of 2, a tuple of 1 is replicated
    (torch 2.13's ``F.fold`` raises there), any other length is a
    ``ValueError``. 1-D: :func:`fold1d`; 3-D: :func:`fold3d`.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    return _fold(2, input, output_size, kernel_size, dilation, padding, stride)


def fold1d(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im for signals: ``(N, C*k, L) -> (N, C, output_size)`` (or unbatched).

    The adjoint of :func:`unfold1d`: entry ``(c*k + i, l)`` is added to
    position ``l*stride + i*dilation - padding`` (dropped where that is padding).

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    return _fold(1, input, output_size, kernel_size, dilation, padding, stride)


def fold3d(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im for volumes: ``(N, C*kD*kH*kW, L) -> (N, C, D, H, W)`` (or unbatched).

    The adjoint of :func:`unfold3d`; overlapping blocks add up.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    return _fold(3, input, output_size, kernel_size, dilation, padding, stride)


def fold_divisor(output_size, kernel_size, dilation=1, padding=0, stride=1, *, dtype=None):
    """How many blocks cover each pixel: ``fold(unfold(ones))``, shape ``output_size``.

    ``fold(unfold(x)) == divisor * x`` for every ``x`` of that spatial size, so
    where the divisor has no zeros, ``fold(unfold(x)) / divisor`` recovers
    ``x``. A zero means no block covers that pixel (a stride larger than the
    dilated kernel, gaps between dilated taps that no block fills, or rows and
    columns dropped by the floor in the size formula): there, no inverse
    exists. The number of spatial dims is the length of ``output_size``: a
    tuple of one is the divisor of :func:`fold1d`, two of :func:`fold`, three
    of :func:`fold3d`; an int means 2-D, as in ``F.fold``. ``dtype`` defaults
    to torch's default dtype.

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    n = len(output_size) if _is_sequence(output_size) else 2
    size = shapes._spatial(output_size, n, "output_size")
    ones = torch.ones((1, 1, *size), dtype=dtype or torch.get_default_dtype())
    k, s, pads, d = shapes.conv_params(n, kernel_size, stride, padding, dilation)
    shapes.check_fits(size, k, pads, d, kernel_size, dilation)
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
# does per sample), into one reused buffer (see ``_over_chunks``). The matrix
# then stays in cache, and resident memory stays near the output plus one
# chunk: 8 MiB made forward plus backward of an (32, 64, 56, 56) input with a
# 3 x 3 kernel grow peak memory by 66 MiB against 117 MiB at 32 MiB, at the
# same speed (``benchmarks/ops.py``); identical results.
CHUNK_BYTES = 8 * 2**20


def _chunks(N, per_sample):
    """Slices of the batch holding about ``CHUNK_BYTES`` of unfolded matrix
    each (``per_sample`` bytes a sample); one slice under ``torch.compile``,
    where the graph stays one matmul."""
    if torch.compiler.is_compiling() or N == 0:
        return [slice(0, N)]
    step = max(1, CHUNK_BYTES // max(per_sample, 1))
    return [slice(i, min(i + step, N)) for i in range(0, N, step)]


def _in_place_ok(*tensors):
    """Whether results may be written into preallocated memory: nothing is
    being recorded for autograd (a custom Function's forward, a backward
    without ``create_graph``) and no tensor is a torch.func wrapper (vmap,
    grad), which may not be written into an unwrapped buffer. Never under
    ``torch.compile``, whose graphs stay functional."""
    if torch.compiler.is_compiling() or torch.is_grad_enabled():
        return False
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    return not any(t is not None and wrapped(t) for t in tensors)


def _over_chunks(parts, fn, like, out_tail, buf_tail, *tensors):
    """``fn(part, buf, dst)`` for every slice ``part`` of the batch, stacked.

    Where :func:`_in_place_ok`, one output ``(N, *out_tail)`` and one
    scratch buffer ``(chunk, *buf_tail)`` (the unfolded matrix of a chunk)
    are allocated once, and ``fn`` writes its chunk into ``dst`` using
    ``buf``: the peak is the output plus one chunk's matrix, and no chunk
    allocates afresh (freed and reallocated tens of MB fragment the heap
    and raise resident memory). Otherwise ``fn(part, None, None)`` returns
    each chunk and they are concatenated, which autograd and torch.func trace.
    """
    N = parts[-1].stop
    if N == 0 or not _in_place_ok(like, *tensors):
        if len(parts) == 1:
            return fn(parts[0], None, None)
        return torch.cat([fn(c, None, None) for c in parts])
    out = like.new_empty((N, *out_tail))
    buf = like.new_empty((parts[0].stop, *buf_tail))
    for c in parts:
        fn(c, buf[: c.stop - c.start], out[c])
    return out


def _bmm(a, b, dst=None):
    """``a @ b`` for ``a`` ``(B, m, k)`` (its batch may be expanded) and ``b``
    ``(B, k, n)``, into ``dst`` when given."""
    if dst is None:
        return torch.bmm(a, b)
    return torch.bmm(a, b, out=dst)


def _matmul_conv(x, weight, s, pads, d, g, up=None):
    """The lowered convolution on batched input with validated params.

    ``cols = unfold(x)``: ``(N, C_in*K, L)``; rows split into ``g`` blocks of
    ``(C_in/g)*K`` and weight rows into ``g`` blocks of ``C_out/g``;
    ``out = weight.view(g, C_out/g, -1) @ cols.view(N, g, -1, L)``. Large
    batches are processed ``CHUNK_BYTES`` of unfolded matrix at a time
    (:func:`_chunks`, :func:`_over_chunks`). ``up`` inserts zeros between
    input elements first (chapter 4's gather form). Also the input gradient
    of a transposed convolution (chapter 5).
    """
    k = tuple(weight.shape[2:])
    N, C_in = x.shape[:2]
    C_out = weight.shape[0]
    out_shape = shapes.block_counts(x.shape[2:], k, s, pads, d, up)
    L = math.prod(out_shape)
    CK = C_in * math.prod(k)
    w = weight.reshape(1, g, C_out // g, CK // g)

    def lowered(c, buf, dst):
        xs = x[c]
        n = xs.shape[0]
        cols = _unfold_batched(xs, k, d, pads, s, up, buf)  # (n, C_in*K, L)
        wn = w.expand(n, g, C_out // g, CK // g).reshape(n * g, C_out // g, CK // g)
        cols = cols.reshape(n * g, CK // g, L)
        dst = None if dst is None else dst.view(n * g, C_out // g, L)
        return _bmm(wn, cols, dst).reshape(n, C_out, L)

    parts = _chunks(N, CK * L * x.element_size())
    out = _over_chunks(parts, lowered, x, (C_out, L), (CK, L), weight)
    return out.reshape(N, C_out, *out_shape)


def _col2im_conv(y, weight, size, s, pads, d, g):
    """The adjoint of :func:`_matmul_conv` in its input: ``fold(W^T @ y)``.

    ``y`` is ``(N, C_out, *blocks)``, ``weight`` ``(C_out, C_in/g, *k)``;
    per group ``cols = W_g^T @ y_g`` is ``(N, C_in*K, L)``, and ``fold``
    with the convolution's own ``s, pads, d`` adds every column back into an
    image of ``size``. This is a convolution's input gradient and, with
    ``pads = (p, p - output_padding)``, the transposed convolution (chapters
    4 and 5). Chunked over the batch like :func:`_matmul_conv`.
    """
    k = tuple(weight.shape[2:])
    N, C_out = y.shape[:2]
    L = math.prod(y.shape[2:])
    CK = weight.shape[1] * g * math.prod(k)
    wt = weight.reshape(1, g, C_out // g, CK // g).transpose(2, 3)  # (1, g, C_in/g*K, C_out/g)

    def lowered(c, buf, dst):
        ys = y[c]
        n = ys.shape[0]
        wn = wt.expand(n, g, CK // g, C_out // g).reshape(n * g, CK // g, C_out // g)
        cols = _bmm(
            wn,
            ys.reshape(n * g, C_out // g, L),
            None if buf is None else buf.view(n * g, CK // g, L),
        )
        image = _fold_batched(cols.reshape(n, CK, L), size, k, d, pads, s)
        return image if dst is None else dst.copy_(image)

    parts = _chunks(N, CK * L * y.element_size())
    return _over_chunks(parts, lowered, y, (CK // math.prod(k), *size), (CK, L), weight)


def _weight_grad(x, y, k, s, pads, d, g):
    """``sum over n of y[n] @ unfold(x[n])^T`` per group: ``(g, C_y/g, C_x/g*K)``.

    With ``x`` the input and ``y`` the output gradient this is a
    convolution's weight gradient; with the two swapped (``x`` the output
    gradient, ``y`` the input, ``pads = (p, p - output_padding)``) a
    transposed convolution's (chapter 5). ``unfold(x)`` is recomputed chunk
    by chunk, never kept; where :func:`_in_place_ok`, into one reused buffer,
    and the products are added into the result sample by sample (``baddbmm_``),
    so that no per-sample weight gradients are materialised.
    """
    N, C_x = x.shape[:2]
    C_y = y.shape[1]
    L = math.prod(y.shape[2:])
    CK = C_x * math.prod(k)
    parts = _chunks(N, CK * L * x.element_size())
    in_place = bool(N) and _in_place_ok(x, y)
    buf = x.new_empty((parts[0].stop, CK, L)) if in_place else None
    total = x.new_zeros((g, C_y // g, CK // g)) if in_place else None
    for c in parts:
        xs, ys = x[c], y[c]
        n = xs.shape[0]
        cols = _unfold_batched(xs, k, d, pads, s, None, None if buf is None else buf[:n])
        cols = cols.reshape(n, g, CK // g, L).transpose(2, 3)  # (n, g, L, C_x/g*K)
        ys = ys.reshape(n, g, C_y // g, L)
        if in_place:  # accumulate sample by sample: no (n, C_y, C_x*K) temporary
            for i in range(n):
                total.baddbmm_(ys[i], cols[i])
            continue
        part = (ys @ cols).sum(0)  # traced by autograd, torch.func and compile
        total = part if total is None else total + part
    return total


def _bias_grad(grad_out):
    return grad_out.sum(dim=(0, *range(2, grad_out.dim())))


class _Lowered(torch.autograd.Function):
    """What the two lowered Functions share: ``apply(x, weight, bias, geom)``
    with ``geom`` the validated parameters; only ``x`` and the weight are
    saved (for the backward and for forward mode); a vmap rule generated from
    the same code."""

    generate_vmap_rule = True

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, geom = inputs
        ctx.save_for_backward(x, weight)
        ctx.save_for_forward(x, weight)
        ctx.geom = geom
        ctx.has_bias = bias is not None


class _Conv(_Lowered):
    """A convolution with chapter 5's backward; ``geom = (s, pads, d, g)``.

    Forward: ``W @ unfold(x)`` (:func:`_matmul_conv`). Saves ``x`` and the
    weight, not the unfolded matrix. Backward::

        grad_x = fold(W^H @ grad_y)                 (_col2im_conv)
        grad_W = sum over n of grad_y @ unfold(x)^H (_weight_grad)
        grad_b = grad_y summed over batch and space

    (``^H``: the conjugate transpose, PyTorch's convention for complex
    tensors; the plain transpose for real ones.) float16 and bfloat16 are
    saved as they are and widened to float32 inside the forward and the
    backward (as torch, which saves its inputs in their own dtype).

    Everything in the backward is differentiable (double backward works);
    ``generate_vmap_rule`` makes ``torch.func.vmap`` run the same code
    batched; :class:`_ConvFwdAD` adds forward mode.
    """

    @staticmethod
    def forward(x, weight, bias, geom):
        s, pads, d, g = geom
        (x, weight, bias), dtype = _widen(x, weight, bias)
        return _add_bias(_matmul_conv(x, weight, s, pads, d, g), bias).to(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x, weight, grad_out), dtype = _widen(*ctx.saved_tensors, grad_out)
        s, pads, d, g = ctx.geom
        k = tuple(weight.shape[2:])
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _col2im_conv(grad_out, weight.conj(), tuple(x.shape[2:]), s, pads, d, g)
            gx = gx.to(dtype)
        if ctx.needs_input_grad[1]:
            gw = _weight_grad(x.conj(), grad_out, k, s, pads, d, g).reshape(weight.shape)
            gw = gw.to(dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = _bias_grad(grad_out).to(dtype)
        return gx, gw, gb, None


def _sum_tangents(terms, db, dtype):
    """Add the tangents that exist (and the bias tangent, broadcast), in ``dtype``."""
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return _add_bias(out, db).to(dtype) if out is not None else None


class _ConvTranspose(_Lowered):
    """A transposed convolution with chapter 5's backward, whichever method
    (``"fold"`` or ``"rot90"``) computed the forward: ``geom = (k, s, p, op,
    d, g, method)``. With ``pads = (p, p - output_padding)`` per dim::

        grad_x = conj(W) @ unfold(grad_y)            (a convolution: _matmul_conv)
        grad_W = sum over n of conj(x) @ unfold(grad_y)^T (_weight_grad, swapped)
        grad_b = grad_y summed over batch and space

    (the conjugates are PyTorch's convention for complex tensors).
    """

    @staticmethod
    def forward(x, weight, bias, geom):
        k, s, p, op, d, g, method = geom
        impl = _tconv_fold if method == "fold" else _tconv_rot90
        (x, weight, bias), dtype = _widen(x, weight, bias)
        return _add_bias(impl(x, weight, k, s, p, op, d, g), bias).to(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x, weight, grad_out), dtype = _widen(*ctx.saved_tensors, grad_out)
        k, s, p, op, d, g, _ = ctx.geom
        pads = tuple((p[i], p[i] - op[i]) for i in range(len(k)))
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _matmul_conv(grad_out, weight.conj(), s, pads, d, g).to(dtype)
        if ctx.needs_input_grad[1]:
            gw = _weight_grad(grad_out, x.conj(), k, s, pads, d, g).reshape(weight.shape)
            gw = gw.to(dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = _bias_grad(grad_out).to(dtype)
        return gx, gw, gb, None


def _add_bias(out, bias):
    """``out + bias`` broadcast over channels; in place where nothing records
    it (:func:`_in_place_ok`), so that the output is not held twice."""
    if bias is None:
        return out
    b = bias.reshape(1, -1, *([1] * (out.dim() - 2)))
    return out.add_(b) if _in_place_ok(out, bias) else out + b


def _batched_input(input, n, fname):
    """``(x with a batch dim, was_batched)``; channels and every spatial size
    must be non-empty (as torch requires); a batch of 0 is fine."""
    x, batched = _batch(input, n, "input", fname)
    _check_nonempty(input, "input", fname, 1 if batched else 0)
    return x, batched


def _conv(n, fname, input, weight, bias, stride, padding, dilation, groups):
    _check_pair(input, weight, bias, fname)
    x, batched = _batched_input(input, n, fname)
    _check_weight_rank(weight, n, fname, "(C_out, C_in/groups, *kernel_size)")
    _check_nonempty(weight, "weight", fname, 0)
    C_out = weight.shape[0]
    g = _check_groups(groups, x.shape[1])
    _check_conv_weight(weight, g, x.shape[1], fname)
    _check_bias(bias, C_out)
    k = tuple(weight.shape[2:])
    _, s, pads, d = shapes.conv_params(n, k, stride, padding, dilation)
    shapes.check_fits(x.shape[2:], k, pads, d, k, dilation)
    out = _function(_Conv, _ConvFwdAD).apply(x, weight, bias, (s, pads, d, g))
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
    tuple, ``'valid'`` or ``'same'`` (stride 1 only; when
    ``dilation*(kernel_size-1)`` is odd the extra zero goes at the end, as in
    torch). float16 and bfloat16 are summed in float32 and rounded once.

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
class _ConvFwdAD(_Conv):
    """:class:`_Conv` with forward mode (``torch.func.jvp``): a convolution is
    linear in each argument, so its tangent is ``conv(dx, W) + conv(x, dW) +
    db``. Not used under ``torch.compile``, which does not trace a custom
    ``jvp`` (a graph break) but traces :class:`_Conv`."""

    @staticmethod
    def jvp(ctx, dx, dw, db, _):
        (x, weight, dx, dw, db), dtype = _widen(*ctx.saved_tensors, dx, dw, db)
        s, pads, d, g = ctx.geom
        terms = [_matmul_conv(dx, weight, s, pads, d, g) if dx is not None else None]
        terms.append(_matmul_conv(x, dw, s, pads, d, g) if dw is not None else None)
        return _sum_tangents(terms, db, dtype)


class _ConvTransposeFwdAD(_ConvTranspose):
    """:class:`_ConvTranspose` with forward mode (see :class:`_ConvFwdAD`)."""

    @staticmethod
    def jvp(ctx, dx, dw, db, _):
        (x, weight, dx, dw, db), dtype = _widen(*ctx.saved_tensors, dx, dw, db)
        k, s, p, op, d, g, _ = ctx.geom
        terms = [_tconv_fold(dx, weight, k, s, p, op, d, g) if dx is not None else None]
        terms.append(_tconv_fold(x, dw, k, s, p, op, d, g) if dw is not None else None)
        return _sum_tangents(terms, db, dtype)


def _function(cls, with_jvp):
    """The Function to apply: with forward mode, except under ``torch.compile``."""
    return cls if torch.compiler.is_compiling() else with_jvp


def _tconv_fold(x, weight, k, s, p, op, d, g):
    """col2im: ``cols = W^T @ x`` per group, then fold with padding ``p``.

    The blocks span the full size ``(in-1)*s + d*(k-1) + 1`` per dim; the
    result keeps ``[p, p + out)`` of it, ``out = full - 2p + output_padding``
    (zeros past the end when output_padding > padding): ``fold`` to ``out``
    with padding ``p`` before and ``p - output_padding`` after. The weight
    ``(C_in, C_out/g, *k)`` read as a convolution's weight from C_out to C_in
    channels makes this :func:`_col2im_conv`: the input gradient of that
    convolution (chapter 5).
    """
    n = len(k)
    out = shapes.transposed_sizes(tuple(x.shape[2:]), k, s, p, op, d)
    return _col2im_conv(x, weight, out, s, tuple((p[i], p[i] - op[i]) for i in range(n)), d, g)


def _tconv_rot90(x, weight, k, s, p, op, d, g):
    """Gather form: zero insertion, pad d(k-1)-p (+ output_padding at the end),
    rotate the kernel 180 degrees and swap in/out channels within each group,
    then a stride-1 convolution with dilation d. The zeros (inserted and
    padded) are materialised unless they would dwarf the input; then they are
    read by index (see PAD_COPY_FACTOR): the same multiply-adds either way."""
    n = len(k)
    C_in = x.shape[1]
    q = [d[i] * (k[i] - 1) - p[i] for i in range(n)]
    pads = tuple((q[i], q[i] + op[i]) for i in range(n))
    C_out_g = weight.shape[1]
    w = weight.reshape(g, C_in // g, C_out_g, *k).transpose(1, 2)
    w = w.reshape(g * C_out_g, C_in // g, *k)
    w = w.flip(dims=tuple(range(2, 2 + n)))  # 2-D: torch.rot90(w, 2, dims=[2, 3])
    return _matmul_conv(x, w, (1,) * n, pads, d, g, up=s)


def _conv_transpose(
    n, fname, input, weight, bias, stride, padding, output_padding, groups, dilation, method
):
    _check_method(method)
    _check_pair(input, weight, bias, fname)
    x, batched = _batched_input(input, n, fname)
    _check_weight_rank(weight, n, fname, "(C_in, C_out/groups, *kernel_size)")
    C_in = x.shape[1]
    if weight.shape[0] != C_in:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}, whose first dim {weight.shape[0]} must "
            f"equal the input channels C_in={C_in}: {fname} needs weight of shape "
            "(C_in, C_out/groups, *kernel_size)"
        )
    _check_nonempty(weight, "weight", fname, 0)
    g = _check_groups(groups, C_in)
    C_out = weight.shape[1] * g
    _check_bias(bias, C_out)
    _check_not_str(padding, fname)
    k = tuple(weight.shape[2:])
    s = shapes._as_tuple(stride, n, "stride", minimum=1)
    p = shapes._as_tuple(padding, n, "padding", minimum=0)
    d = shapes._as_tuple(dilation, n, "dilation", minimum=1)
    op = shapes._check_output_padding(output_padding, s, d, n)
    spatial = tuple(x.shape[2:])
    out = shapes.transposed_sizes(spatial, k, s, p, op, d)
    shapes.check_transposed_sizes(out, spatial, k, s, p, op, d, padding)
    fn = _function(_ConvTranspose, _ConvTransposeFwdAD)
    out = fn.apply(x, weight, bias, (k, s, p, op, d, g, method))
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
    shape ``(H_out*W_out, H*W)`` (on ``weight``'s device, in its dtype) with
    ``conv2d(x, weight).flatten() == Cm @ x.flatten()``. Column ``j`` is the
    convolution of the ``j``-th basis image (a one at pixel ``j``), so
    ``Cm[o, j]`` is the weight that output pixel ``o`` applies to input pixel
    ``j`` (zero where the block misses it). Its transpose is the transposed
    convolution back to ``input_size``::

        Cm.T @ y.flatten() == conv_transpose2d(
            y[None, None], weight[None, None], stride=stride, padding=padding,
            output_padding=output_padding, dilation=dilation).flatten()
        output_padding = output_padding_for(input_size, kernel_size, stride=...,
                                            padding=..., dilation=...)

    ``output_padding = (H + 2*padding - dilation*(k-1) - 1) mod stride`` per
    dim: the trailing rows and columns of the *padded* input that the floor
    dropped (padding rows count too). Where it is not zero, the transposed
    convolution without it returns a smaller image.

    Taught in chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``) and
    used in chapter 4.
    """
    _check_tensor(weight, "weight")
    if weight.dim() != 2:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}, but conv_matrix needs a single-channel "
            "2-D kernel of shape (kH, kW)"
        )
    size = shapes._spatial(input_size, 2, "input_size")
    H, W = size
    basis = torch.eye(H * W, dtype=weight.dtype, device=weight.device)
    basis = basis.view(H * W, 1, H, W)  # one image per pixel
    out = conv2d(basis, weight[None, None], None, stride, padding, dilation)  # (HW, 1, Ho, Wo)
    return out.reshape(H * W, -1).T.contiguous()
