"""Shape arithmetic for sliding blocks, convolutions and transposed convolutions.

Pure integer arithmetic: nothing here needs torch. Every function takes the
*spatial* sizes of a tensor (``(H, W)`` for an ``(N, C, H, W)`` image), never
the batch or channel sizes, and parameters that are an ``int`` (the same in
every spatial dimension) or a tuple with one entry per spatial dimension,
exactly as ``torch.nn.functional`` takes them. ``padding`` is per side.
In the public helpers (``conv_output_shape``, ``num_blocks``,
``conv_transpose_output_shape``, ``output_padding_for``,
``fold_output_sizes_for``) every parameter after the first two is
keyword-only: ``F.unfold`` orders them (dilation, padding, stride) and
``F.conv2d`` (stride, padding, dilation), so a positional call would be a trap.

The validation helpers at the bottom are shared by everything in ``convlab``:
a bad value raises ``ValueError`` (or ``TypeError`` for a wrong type) whose
message names the parameter, its value and the rule it breaks.

Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``) and chapter 4
(transposed convolution).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

IntOrTuple = int | Sequence[int]

__all__ = [
    "conv_output_shape",
    "conv_transpose_output_shape",
    "num_blocks",
    "output_padding_for",
    "fold_output_sizes_for",
    "resolve_padding",
    "normalize",
]

_SPAN = "d*(k-1)+1"
_CONV_FORMULA = "out = floor((in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1"
_TCONV_FORMULA = "out = (in - 1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1"


# --------------------------------------------------------------------------
# validation helpers (shared by the whole package)
# --------------------------------------------------------------------------
def _as_int(value, name: str) -> int:
    """Return ``value`` as a Python int, or raise TypeError naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is a bool: {name} must be an int or a tuple of ints")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name}={value!r} has type {type(value).__name__}: {name} must be an int "
            f"or a tuple of ints"
        ) from None


def _is_sequence(value) -> bool:
    return isinstance(value, (tuple, list)) or type(value).__name__ == "Size"


def _ndim_of(value) -> int | None:
    """Number of spatial dims a parameter implies (None for a bare int)."""
    if _is_sequence(value) and len(value) > 1:
        return len(value)
    return None


def _infer_ndim(*values, default: int | None = None) -> int:
    """The number of spatial dimensions implied by tuple-valued parameters."""
    found = {}
    for name, value in values:
        n = _ndim_of(value)
        if n is not None:
            found.setdefault(n, name)
    if len(found) > 1:
        detail = ", ".join(f"{name} has {n}" for n, name in sorted(found.items()))
        raise ValueError(
            f"parameters disagree on the number of spatial dimensions ({detail}): "
            "every tuple parameter needs one entry per spatial dimension"
        )
    if found:
        return next(iter(found))
    if default is None:
        return 1
    return default


def _as_tuple(value, n: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """Expand an int or a tuple to ``n`` ints, each at least ``minimum``.

    A tuple of length 1 is replicated, as torch does.
    """
    if isinstance(value, str):
        raise ValueError(
            f"{name}={value!r} is not allowed: only padding takes a string ('valid' or 'same')"
        )
    if _is_sequence(value):
        items = [_as_int(v, name) for v in value]
        if len(items) == 1:
            items = items * n
        if len(items) != n:
            raise ValueError(
                f"{name}={tuple(value)!r} has {len(items)} entries, but the input has {n} "
                f"spatial dimension{'s' if n != 1 else ''}: give an int or a tuple of {n} ints"
            )
    else:
        items = [_as_int(value, name)] * n
    rule = {0: "non-negative (>= 0)", 1: "positive (>= 1)"}.get(minimum, f">= {minimum}")
    for i, v in enumerate(items):
        if v < minimum:
            shown = value if not _is_sequence(value) else tuple(value)
            where = f" (spatial dim {i})" if _is_sequence(value) and len(value) > 1 else ""
            raise ValueError(f"{name}={shown!r} is invalid{where}: {name} must be {rule}")
    return tuple(items)


def _spatial(input_shape, n: int, name: str = "input_shape") -> tuple[int, ...]:
    return _as_tuple(input_shape, n, name, minimum=1)


def resolve_padding(padding, kernel_size, stride=1, dilation=1, n: int | None = None):
    """Per-dimension ``(before, after)`` padding, resolving ``'valid'`` and ``'same'``.

    ``'valid'`` is no padding. ``'same'`` pads ``total = dilation*(kernel_size-1)``
    per dimension, ``total // 2`` before and the rest after (as torch does, so an
    even kernel gets its extra zero at the bottom/right); it needs ``stride=1``.
    An int or tuple is the same amount on both sides (padding is per side).

    Taught in chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``).
    """
    if n is None:
        n = _infer_ndim(
            ("kernel_size", kernel_size),
            ("stride", stride),
            ("dilation", dilation),
            ("padding", padding if not isinstance(padding, str) else 0),
        )
    k = _as_tuple(kernel_size, n, "kernel_size", minimum=1)
    d = _as_tuple(dilation, n, "dilation", minimum=1)
    s = _as_tuple(stride, n, "stride", minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in range(n))
        if padding == "same":
            if any(si != 1 for si in s):
                raise ValueError(
                    f"padding='same' with stride={stride!r}: 'same' padding needs stride=1 "
                    "in every dimension (with a larger stride no padding keeps out == in)"
                )
            return tuple(
                (di * (ki - 1) // 2, di * (ki - 1) - di * (ki - 1) // 2) for ki, di in zip(k, d)
            )
        raise ValueError(
            f"padding={padding!r} is not a known padding: use an int, a tuple of ints, "
            "'valid' or 'same'"
        )
    p = _as_tuple(padding, n, "padding", minimum=0)
    return tuple((pi, pi) for pi in p)


def conv_params(n, kernel_size, stride=1, padding=0, dilation=1):
    """Validate conv parameters for ``n`` spatial dims: ``(k, s, pads, d)`` tuples.

    Each parameter is an int (every dim) or a tuple of ``n`` ints (a tuple of
    one is replicated); any other length is a ``ValueError`` naming it, so a
    parameter never changes how many spatial dims the input has. ``pads`` is
    a tuple of ``(before, after)`` pairs (see :func:`resolve_padding`).
    """
    k = _as_tuple(kernel_size, n, "kernel_size", minimum=1)
    s = _as_tuple(stride, n, "stride", minimum=1)
    d = _as_tuple(dilation, n, "dilation", minimum=1)
    return k, s, resolve_padding(padding, k, stride, d, n), d


def block_counts(size, k, s, pads, d, up=None):
    """Blocks per spatial dim, with no validation (``size`` may be symbolic)::

        out = floor((span_in + before + after - d*(k-1) - 1) / s) + 1

    where ``span_in = (in - 1)*up + 1`` is the input after inserting ``up-1``
    zeros between neighbours (``up=None``: none, ``span_in = in``). The one
    place this formula is written; :func:`conv_output_shape` validates, then
    calls it.
    """
    up = up or (1,) * len(k)
    return tuple(
        ((size[i] - 1) * up[i] + 1 + pads[i][0] + pads[i][1] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        for i in range(len(k))
    )


def transposed_sizes(size, k, s, p, op, d):
    """Output size per spatial dim of a transposed convolution, with no
    validation (``size`` may be symbolic; :func:`check_transposed_sizes`)::

        out = (in - 1)*s - 2*p + d*(k-1) + output_padding + 1
    """
    return tuple(
        (size[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i in range(len(k))
    )


def check_transposed_sizes(out, size, k, s, p, op, d, padding):
    """Raise ``ValueError`` if a transposed convolution's output (``out``,
    from :func:`transposed_sizes`) has no pixel in some dim."""
    for i, o in enumerate(out):
        if o < 1:
            raise ValueError(
                f"padding={padding!r} is too large: {_TCONV_FORMULA} gives {o} in spatial "
                f"dim {i} (in={size[i]}, stride={s[i]}, padding={p[i]}, kernel_size={k[i]}, "
                f"dilation={d[i]}, output_padding={op[i]}); the output must have at least 1 pixel"
            )


def check_fits(size, k, pads, d, kernel_size=None, dilation=None):
    """Raise ``ValueError`` if a dilated kernel ``d*(k-1)+1`` is larger than the
    padded input ``in + before + after`` in some spatial dim.

    ``size`` may come from a tensor's shape (symbolic under ``torch.compile``):
    it is only compared, never converted to a Python int.
    """
    kernel_size = k if kernel_size is None else kernel_size
    dilation = d if dilation is None else dilation
    n = len(k)
    for i in range(n):
        span = d[i] * (k[i] - 1) + 1
        padded = size[i] + pads[i][0] + pads[i][1]
        if span > padded:
            where = f" in spatial dim {i}" if n > 1 else ""
            raise ValueError(
                f"kernel_size={kernel_size!r} with dilation={dilation!r} spans "
                f"{_SPAN} = {span} pixels{where}, but the padded input is only "
                f"in + 2*padding = {size[i]} + {pads[i][0] + pads[i][1]} = {padded} pixels: "
                "a block must fit inside the padded input (kernel larger than padded input)"
            )


def normalize(input_shape, kernel_size, stride=1, padding=0, dilation=1, *, ndim=None):
    """Validate conv parameters and expand them to per-dimension tuples.

    Returns ``(input_shape, kernel_size, stride, pads, dilation)`` where ``pads``
    is a tuple of ``(before, after)`` pairs (see :func:`resolve_padding`).
    Raises ``ValueError`` if a dilated kernel, ``d*(k-1)+1``, is larger than the
    padded input, ``in + before + after``.
    """
    n = ndim or _infer_ndim(
        ("input_shape", input_shape),
        ("kernel_size", kernel_size),
        ("stride", stride),
        ("padding", padding if not isinstance(padding, str) else 0),
        ("dilation", dilation),
    )
    size = _spatial(input_shape, n)
    k, s, pads, d = conv_params(n, kernel_size, stride, padding, dilation)
    check_fits(size, k, pads, d, kernel_size, dilation)
    return size, k, s, pads, d


# --------------------------------------------------------------------------
# public arithmetic
# --------------------------------------------------------------------------
def conv_output_shape(input_shape, kernel_size, *, stride=1, padding=0, dilation=1):
    """Spatial output shape of a convolution (and the block grid of ``unfold``).

    Per spatial dimension::

        out = floor((in + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

    ``padding`` may be ``'valid'`` (0) or ``'same'`` (out == in, stride 1 only).

    >>> conv_output_shape((224, 224), 3, stride=2, dilation=2)
    (110, 110)

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    size, k, s, pads, d = normalize(input_shape, kernel_size, stride, padding, dilation)
    return block_counts(size, k, s, pads, d)


def num_blocks(input_shape, kernel_size, *, dilation=1, padding=0, stride=1) -> int:
    """``L``, the number of sliding blocks ``unfold`` extracts (and ``fold`` expects).

    ``L = prod over spatial dims of floor((in + 2p - d(k-1) - 1) / s) + 1``.
    Every parameter after ``kernel_size`` is keyword-only (``F.unfold`` and
    ``F.conv2d`` order them differently, so a positional call is a trap).

    >>> num_blocks((224, 224), 3, dilation=2, stride=2)
    12100

    Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """
    total = 1
    for o in conv_output_shape(
        input_shape, kernel_size, stride=stride, padding=padding, dilation=dilation
    ):
        total *= o
    return total


def _check_output_padding(output_padding, s, d, n):
    op = _as_tuple(output_padding, n, "output_padding", minimum=0)
    for i in range(n):
        if op[i] >= max(s[i], d[i]):
            where = f" in spatial dim {i}" if n > 1 else ""
            raise ValueError(
                f"output_padding={output_padding!r} is invalid{where}: output_padding must be "
                f"smaller than stride or dilation (op < max(stride, dilation) = "
                f"max({s[i]}, {d[i]}) = {max(s[i], d[i])})"
            )
    return op


def conv_transpose_output_shape(
    input_shape, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1
):
    """Spatial output shape of a transposed convolution.

    Per spatial dimension::

        out = (in - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1

    ``output_padding`` must be smaller than ``max(stride, dilation)``; it adds
    rows/columns at the bottom/right only and picks one of the ``stride``
    input sizes that a strided convolution maps to the same output size.

    >>> conv_transpose_output_shape((28, 28), 4, stride=2, padding=1)
    (56, 56)

    Taught in chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
    """
    if isinstance(padding, str):
        raise ValueError(
            f"padding={padding!r} is not supported by transposed convolution: "
            "give an int or a tuple of ints"
        )
    n = _infer_ndim(
        ("input_shape", input_shape),
        ("kernel_size", kernel_size),
        ("stride", stride),
        ("padding", padding),
        ("output_padding", output_padding),
        ("dilation", dilation),
    )
    size = _spatial(input_shape, n)
    k = _as_tuple(kernel_size, n, "kernel_size", minimum=1)
    s = _as_tuple(stride, n, "stride", minimum=1)
    p = _as_tuple(padding, n, "padding", minimum=0)
    d = _as_tuple(dilation, n, "dilation", minimum=1)
    op = _check_output_padding(output_padding, s, d, n)
    out = transposed_sizes(size, k, s, p, op, d)
    check_transposed_sizes(out, size, k, s, p, op, d, padding)
    return out


def output_padding_for(input_shape, kernel_size, *, stride=1, padding=0, dilation=1):
    """The ``output_padding`` with which a transposed conv restores a conv's input shape.

    A convolution with these parameters maps ``input_shape`` to
    ``conv_output_shape(...)``; a transposed convolution with the same parameters
    maps that back to ``input_shape`` exactly when, per dimension::

        output_padding = (in + 2*padding - dilation*(kernel_size - 1) - 1) mod stride

    (the ``a`` of Dumoulin & Visin's guide, with dilation). It is always
    smaller than ``stride``.

    >>> output_padding_for((17, 16), 5, stride=3, padding=2)
    (1, 0)

    Taught in chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
    """
    size, k, s, pads, d = normalize(input_shape, kernel_size, stride, padding, dilation)
    if any(a != b for a, b in pads):
        raise ValueError(
            "padding='same' with an even dilated kernel pads unevenly, which a transposed "
            "convolution cannot express: give padding as an int or a tuple of ints"
        )
    return tuple(
        (size[i] + 2 * pads[i][0] - d[i] * (k[i] - 1) - 1) % s[i] for i in range(len(size))
    )


def fold_output_sizes_for(L_per_dim, kernel_size, *, dilation=1, padding=0, stride=1):
    """Every image size from which unfold would produce the given block grid.

    ``L_per_dim`` is the number of blocks along each spatial dimension (the
    conv output shape, e.g. ``(110, 110)``; their product is unfold's ``L``).
    Per dimension the sizes are the ``stride`` consecutive integers::

        (L - 1)*stride + dilation*(kernel_size - 1) + 1 - 2*padding  ...  that + stride - 1

    (the floor in the size formula drops up to ``stride - 1`` trailing pixels),
    keeping only sizes of at least 1. This is what ``fold``'s ``output_size``
    must be: the size of the image the blocks came from.

    >>> fold_output_sizes_for((110, 110), 3, dilation=2, stride=2)
    ((223, 224), (223, 224))

    Taught in chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """
    n = _infer_ndim(
        ("L_per_dim", L_per_dim),
        ("kernel_size", kernel_size),
        ("dilation", dilation),
        ("padding", padding),
        ("stride", stride),
    )
    blocks = _as_tuple(L_per_dim, n, "L_per_dim", minimum=1)
    k = _as_tuple(kernel_size, n, "kernel_size", minimum=1)
    d = _as_tuple(dilation, n, "dilation", minimum=1)
    p = _as_tuple(padding, n, "padding", minimum=0)
    s = _as_tuple(stride, n, "stride", minimum=1)
    result = []
    for i in range(n):
        low = (blocks[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - 2 * p[i]
        result.append(tuple(v for v in range(low, low + s[i]) if v >= 1))
    return tuple(result)
