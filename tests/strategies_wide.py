"""Hypothesis strategies for the wide property tests (``tests/test_ops_wide.py``).

Wider than ``strategies.py``: kernel 1..4, stride 1..8, padding 0..8 and
dilation 1..3 in every spatial dim, only legal combinations (the dilated
kernel fits the padded input; a transposed convolution has at least one output
pixel and ``output_padding < max(stride, dilation)``). Sizes stay small so that
thousands of examples run in seconds: the input is drawn just above the
smallest size that fits, so large padding and dilation keep it small.
"""

from hypothesis import strategies as st

K_MAX, S_MAX, P_MAX, D_MAX = 4, 8, 8, 3

# how far above the smallest legal size an input dim may go, per spatial rank
EXTRA = {1: 8, 2: 5, 3: 2}


@st.composite
def wide_sliding(draw, n, extra=None, k_max=K_MAX, d_max=D_MAX):
    """kernel_size, dilation, padding, stride (tuples of ``n``) and a fitting input size."""
    extra = EXTRA[n] if extra is None else extra
    k = tuple(draw(st.integers(1, k_max)) for _ in range(n))
    d = tuple(draw(st.integers(1, d_max)) for _ in range(n))
    s = tuple(draw(st.integers(1, S_MAX)) for _ in range(n))
    p = tuple(draw(st.integers(0, P_MAX)) for _ in range(n))
    size = []
    for i in range(n):
        low = max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i])
        size.append(draw(st.integers(low, low + extra)))
    return dict(size=tuple(size), kernel_size=k, dilation=d, stride=s, padding=p)


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
def wide_transpose(draw, n, max_size=None):
    """Parameters of a legal transposed convolution (output at least 1 pixel)."""
    max_size = {1: 6, 2: 4, 3: 2}[n] if max_size is None else max_size
    k = tuple(draw(st.integers(1, K_MAX)) for _ in range(n))
    d = tuple(draw(st.integers(1, D_MAX)) for _ in range(n))
    s = tuple(draw(st.integers(1, S_MAX)) for _ in range(n))
    op = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(n))
    size = tuple(draw(st.integers(1, max_size)) for _ in range(n))
    p = []
    for i in range(n):
        bound = ((size[i] - 1) * s[i] + d[i] * (k[i] - 1) + op[i]) // 2
        p.append(draw(st.integers(0, min(bound, P_MAX))))
    return dict(size=size, kernel_size=k, dilation=d, stride=s, padding=tuple(p), output_padding=op)


@st.composite
def channels(draw, max_batch=2, max_per_group=2, max_groups=3):
    """Batch size (0 allowed), batched or not, groups and channel counts."""
    N = draw(st.integers(0, max_batch))
    batched = N != 1 or draw(st.booleans())
    g = draw(st.integers(1, max_groups))
    C_in = g * draw(st.integers(1, max_per_group))
    C_out = g * draw(st.integers(1, max_per_group))
    return dict(N=N, batched=batched, groups=g, C_in=C_in, C_out=C_out)
