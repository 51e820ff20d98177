"""Hypothesis strategies: legal parameter sets for 1-, 2- and 3-D ops.

Sizes stay small (so thousands of examples run in seconds) but cover the
corners: non-square kernels, stride larger than the kernel, dilation, padding
larger than the kernel, groups, every legal output_padding, unbatched input
and an empty batch.
"""

from hypothesis import strategies as st

MAX_IN = {1: 12, 2: 9, 3: 5}


@st.composite
def sliding_params(draw, n, allow_strings=False):
    """kernel_size, stride, padding, dilation and an input size that fits."""
    k = tuple(draw(st.integers(1, 4 if n < 3 else 3)) for _ in range(n))
    d = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 5)) for _ in range(n))
    p = tuple(draw(st.integers(0, 5)) for _ in range(n))
    size = []
    for i in range(n):
        low = max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i])
        size.append(draw(st.integers(low, low + MAX_IN[n])))
    padding = p
    if allow_strings:
        choice = draw(st.sampled_from(["tuple", "tuple", "tuple", "valid", "same"]))
        if choice == "valid":
            padding = "valid"
            size = [max(v, d[i] * (k[i] - 1) + 1) for i, v in enumerate(size)]
        elif choice == "same":
            padding = "same"
            s = (1,) * n
    # Sometimes pass ints instead of tuples, as readers do.
    as_int = draw(st.booleans())
    if as_int and n > 1 and len(set(k)) == 1 and len(set(d)) == 1 and len(set(s)) == 1:
        k, d, s = k[0], d[0], s[0]
    return dict(size=tuple(size), kernel_size=k, dilation=d, stride=s, padding=padding)


@st.composite
def batch_and_channels(draw):
    N = draw(st.sampled_from([0, 1, 1, 2, 3]))
    batched = N != 1 or draw(st.booleans())
    g = draw(st.integers(1, 3))
    C_in = g * draw(st.integers(1, 3))
    C_out = g * draw(st.integers(1, 3))
    return dict(N=N, batched=batched, groups=g, C_in=C_in, C_out=C_out)


@st.composite
def transpose_params(draw, n):
    """Parameters of a legal transposed convolution (output at least 1 pixel)."""
    k = tuple(draw(st.integers(1, 4 if n < 3 else 3)) for _ in range(n))
    d = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 4)) for _ in range(n))
    op = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(n))
    size = tuple(draw(st.integers(1, {1: 8, 2: 6, 3: 4}[n])) for _ in range(n))
    p = []
    for i in range(n):
        bound = ((size[i] - 1) * s[i] + d[i] * (k[i] - 1) + op[i]) // 2
        p.append(draw(st.integers(0, min(bound, 6))))
    return dict(size=size, kernel_size=k, dilation=d, stride=s, padding=tuple(p), output_padding=op)
