"""Hypothesis strategies: legal parameter sets for 1-, 2- and 3-D ops.

Sizes stay small (so thousands of examples run in seconds) but cover the
corners: non-square kernels, stride larger than the kernel, dilation, padding
larger than the kernel, groups, every legal output_padding, unbatched input
and an empty batch.

Two widths share the same strategies: the defaults (``tests/test_ops_properties.py``)
and ``wide_*`` (``tests/test_ops_wide.py``: kernel 1..4, stride 1..8, padding
0..8, dilation 1..3 in every spatial dim, the input drawn just above the
smallest size that fits, so large padding and dilation keep it small).
"""

from hypothesis import strategies as st

MAX_IN = {1: 12, 2: 9, 3: 5}
MAX_TRANSPOSE_IN = {1: 8, 2: 6, 3: 4}

# the wide tests' ranges
K_MAX, S_MAX, P_MAX, D_MAX = 4, 8, 8, 3
EXTRA = {1: 8, 2: 5, 3: 2}  # how far above the smallest legal size an input dim goes
WIDE_TRANSPOSE_IN = {1: 6, 2: 4, 3: 2}


@st.composite
def sliding_params(
    draw, n, allow_strings=False, *, k_max=None, s_max=5, p_max=5, d_max=3, extra=None, ints=True
):
    """kernel_size, stride, padding, dilation and an input size that fits.

    ``ints``: sometimes pass ints instead of tuples, as readers do.
    """
    k_max = (4 if n < 3 else 3) if k_max is None else k_max
    extra = MAX_IN[n] if extra is None else extra
    k = tuple(draw(st.integers(1, k_max)) for _ in range(n))
    d = tuple(draw(st.integers(1, d_max)) for _ in range(n))
    s = tuple(draw(st.integers(1, s_max)) for _ in range(n))
    p = tuple(draw(st.integers(0, p_max)) for _ in range(n))
    size = []
    for i in range(n):
        low = max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i])
        size.append(draw(st.integers(low, low + extra)))
    padding = p
    if allow_strings:
        choice = draw(st.sampled_from(["tuple", "tuple", "tuple", "valid", "same"]))
        if choice == "valid":
            padding = "valid"
            size = [max(v, d[i] * (k[i] - 1) + 1) for i, v in enumerate(size)]
        elif choice == "same":
            padding = "same"
            s = (1,) * n
    as_int = ints and draw(st.booleans())
    if as_int and n > 1 and len(set(k)) == 1 and len(set(d)) == 1 and len(set(s)) == 1:
        k, d, s = k[0], d[0], s[0]
    return dict(size=tuple(size), kernel_size=k, dilation=d, stride=s, padding=padding)


def wide_sliding(n, extra=None, k_max=K_MAX, d_max=D_MAX):
    """:func:`sliding_params` over the wide ranges, always tuples of ``n``."""
    extra = EXTRA[n] if extra is None else extra
    return sliding_params(
        n, k_max=k_max, s_max=S_MAX, p_max=P_MAX, d_max=d_max, extra=extra, ints=False
    )


@st.composite
def tiny_sliding(draw, n, max_size=4):
    """Like :func:`wide_sliding` but the input is at most ``max_size`` per dim:
    the padding is drawn large enough for the dilated kernel (gradgradcheck)."""
    k = tuple(draw(st.integers(1, K_MAX)) for _ in range(n))
    d = tuple(draw(st.integers(1, D_MAX)) for _ in range(n))
    s = tuple(draw(st.integers(1, S_MAX)) for _ in range(n))
    size, p = [], []
    for i in range(n):
        size.append(draw(st.integers(1, max_size)))
        need = max(0, -(-(d[i] * (k[i] - 1) + 1 - size[i]) // 2))
        p.append(draw(st.integers(need, max(need, P_MAX))))
    return dict(size=tuple(size), kernel_size=k, dilation=d, stride=s, padding=tuple(p))


@st.composite
def batch_and_channels(draw):
    N = draw(st.sampled_from([0, 1, 1, 2, 3]))
    batched = N != 1 or draw(st.booleans())
    g = draw(st.integers(1, 3))
    C_in = g * draw(st.integers(1, 3))
    C_out = g * draw(st.integers(1, 3))
    return dict(N=N, batched=batched, groups=g, C_in=C_in, C_out=C_out)


@st.composite
def channels(draw, max_batch=2, max_per_group=2, max_groups=3):
    """Batch size (0 allowed), batched or not, groups and channel counts."""
    N = draw(st.integers(0, max_batch))
    batched = N != 1 or draw(st.booleans())
    g = draw(st.integers(1, max_groups))
    C_in = g * draw(st.integers(1, max_per_group))
    C_out = g * draw(st.integers(1, max_per_group))
    return dict(N=N, batched=batched, groups=g, C_in=C_in, C_out=C_out)


@st.composite
def transpose_params(draw, n, *, k_max=None, s_max=4, p_max=6, max_size=None):
    """Parameters of a legal transposed convolution (output at least 1 pixel)."""
    k_max = (4 if n < 3 else 3) if k_max is None else k_max
    max_size = MAX_TRANSPOSE_IN[n] if max_size is None else max_size
    k = tuple(draw(st.integers(1, k_max)) for _ in range(n))
    d = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, s_max)) for _ in range(n))
    op = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(n))
    size = tuple(draw(st.integers(1, max_size)) for _ in range(n))
    p = []
    for i in range(n):
        bound = ((size[i] - 1) * s[i] + d[i] * (k[i] - 1) + op[i]) // 2
        p.append(draw(st.integers(0, min(bound, p_max))))
    return dict(size=size, kernel_size=k, dilation=d, stride=s, padding=tuple(p), output_padding=op)


def wide_transpose(n, max_size=None):
    """:func:`transpose_params` over the wide ranges."""
    max_size = WIDE_TRANSPOSE_IN[n] if max_size is None else max_size
    return transpose_params(n, k_max=K_MAX, s_max=S_MAX, p_max=P_MAX, max_size=max_size)
