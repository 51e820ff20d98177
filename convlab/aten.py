"""Which aten operators did torch really run? A recorder, and the ops that count as
``unfold``, ``fold`` and ``convolution``.

Every PyTorch function ends in *aten* operators: ``F.unfold`` dispatches
``aten.im2col`` (and its backward ``aten.col2im``), ``F.fold`` dispatches
``aten.col2im``, and every convolution (``F.conv1d/2d/3d``,
``F.conv_transpose*``, ``nn.Conv2d``, ``torch.nn.grad.conv2d_input``, ...)
dispatches ``aten.convolution`` forward and ``aten.convolution_backward``
backward. :func:`record_aten_ops` watches that level with a
:class:`~torch.utils._python_dispatch.TorchDispatchMode`, so it sees a call
however it was spelled (``F.conv2d``, ``torch.conv2d``, ``nn.Conv2d``,
``torch.ops.aten.convolution``, autograd's backward), which renaming or
monkeypatching Python names cannot::

    with record_aten_ops() as ops:
        y = F.conv2d(x, weight)
        y.sum().backward()
    calls(ops, "convolution")  # ['convolution', 'convolution_backward']

Used by the exercise checkers of chapters 1-5 (``convlab.exercises``: an answer
that calls the very operation it is asked to write fails) and by
``tests/test_no_torch_conv.py`` (``convlab``'s own ops never call them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = [
    "UNFOLD_OPS",
    "FOLD_OPS",
    "CONVOLUTION_BACKWARD_OPS",
    "CONVOLUTION_OPS",
    "OPS",
    "record_aten_ops",
    "calls",
    "op_name",
    "profiled_ops",
    "onednn_primitives",
]

#: ``F.unfold`` (aten's name for it is im2col; ``aten.unfold`` is ``Tensor.unfold``,
#: a strided view, and is *not* in this set).
UNFOLD_OPS = frozenset({"im2col", "im2col_backward"})

#: ``F.fold`` (aten's col2im; it is also the backward of ``F.unfold``).
FOLD_OPS = frozenset({"col2im", "col2im_backward"})

#: The gradients of a convolution (what autograd runs after ``F.conv2d``, and what
#: ``torch.nn.grad.conv2d_input`` calls).
CONVOLUTION_BACKWARD_OPS = frozenset(
    {
        "convolution_backward",
        "convolution_backward_overrideable",
        "_convolution_double_backward",
        "_slow_conv2d_backward",
        "conv_tbc_backward",
        "mkldnn_convolution_backward",
        "mps_convolution_backward",
        "mps_convolution_transpose_backward",
        "cudnn_convolution_backward",
        "miopen_convolution_backward",
    }
)

#: Every convolution kernel, transposed ones included, forward and backward.
#: ``tests/test_no_torch_conv.py`` checks that every aten op whose name says
#: "conv" (but not "convert") is here.
CONVOLUTION_OPS = CONVOLUTION_BACKWARD_OPS | frozenset(
    {
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "conv_tbc",
        "conv_depthwise3d",
        "convolution",
        "convolution_overrideable",
        "_convolution",
        "_convolution_mode",
        "_conv_depthwise2d",
        "_nnpack_spatial_convolution",
        "_slow_conv2d_forward",
        "thnn_conv2d",
        "slow_conv3d",
        "slow_conv3d_forward",
        "slow_conv_dilated2d",
        "slow_conv_dilated3d",
        "slow_conv_transpose2d",
        "slow_conv_transpose3d",
        "mkldnn_convolution",
        "mkldnn_reorder_conv2d_weight",
        "mkldnn_reorder_conv3d_weight",
        "cudnn_convolution",
        "cudnn_convolution_add_relu",
        "cudnn_convolution_relu",
        "cudnn_convolution_transpose",
        "miopen_convolution",
        "miopen_convolution_add_relu",
        "miopen_convolution_relu",
        "miopen_convolution_transpose",
        "miopen_depthwise_convolution",
        "_mps_convolution",
        "_mps_convolution_transpose",
    }
)

#: The kinds of operation the checkers forbid, by name.
OPS = {
    "unfold": UNFOLD_OPS,
    "fold": FOLD_OPS,
    "convolution": CONVOLUTION_OPS,
    "convolution_backward": CONVOLUTION_BACKWARD_OPS,
}


def op_name(func) -> str:
    """The name of a dispatched operator: ``"convolution"`` for ``aten.convolution.default``;
    operators of other namespaces keep theirs (``"quantized.conv2d"``)."""
    packet = func.overloadpacket.__name__
    namespace = getattr(func, "namespace", "aten")
    return packet if namespace == "aten" else f"{namespace}.{packet}"


class _Recorder(TorchDispatchMode):
    """Adds the name of every operator dispatched to ``names``, then runs it unchanged."""

    def __init__(self, names: set):
        super().__init__()
        self.names = names

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(op_name(func))
        return func(*args, **(kwargs or {}))


@contextmanager
def record_aten_ops() -> Iterator[set[str]]:
    """Record the names of the aten operators dispatched inside the ``with`` block.

    Yields a set that fills up as the block runs: forward ops, and the backward
    ops of an ``autograd.grad``/``.backward()`` run inside the block (autograd
    runs them on the calling thread for CPU tensors, under the same mode).
    Composite functions are seen as the operators they decompose into
    (``F.conv2d`` appears as ``"convolution"``, ``F.unfold`` as ``"im2col"``).
    Nothing is changed: every operator runs as it would without the recorder.
    """
    names: set[str] = set()
    with _Recorder(names):
        yield names


def calls(names, kind: str) -> list[str]:
    """The recorded ``names`` that are a ``kind`` of operation (a key of :data:`OPS`),
    sorted: ``calls(ops, "unfold")`` is ``["im2col"]`` if ``F.unfold`` ran."""
    return sorted(set(names) & OPS[kind])


@contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Send the process's file descriptor 2 to /dev/null for a moment (the
    profiler's C++ side writes timestamped lines there, which a notebook
    would store and nbval would compare)."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def profiled_ops(fn, *args, **kwargs) -> set[str]:
    """The names of every aten op ``fn(*args, **kwargs)`` ran, nested ones included,
    as ``torch.profiler`` records them (``"aten::slow_conv_transpose2d"``, ...).

    Unlike :func:`record_aten_ops`, which sees the ops a call dispatches from
    Python (``aten.convolution`` for every convolution), the profiler also sees
    the kernel that op chose inside C++: ``aten::slow_conv_transpose2d`` (a
    matrix product and col2im), ``aten::mkldnn_convolution``, and so on; an op
    implemented by an outside library (oneDNN's transposed convolution) shows
    no aten name of its own. Chapter 4 uses it to show which CPU kernel runs
    ``F.conv_transpose2d``. The profiler's own log lines are silenced.
    """
    from torch.profiler import ProfilerActivity, profile

    with _quiet_fd2(), profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(*args, **kwargs)
    return {e.name for e in prof.events()}


def largest_allocation(fn, *args, **kwargs) -> int:
    """The bytes of the largest buffer ``fn(*args, **kwargs)`` allocated on the CPU
    (``aten::empty``), as ``torch.profiler`` with ``profile_memory=True`` records it.

    Chapter 3 uses it to show that PyTorch's float64 ``F.conv2d``
    (``aten::_slow_conv2d_forward``) allocates a buffer of exactly the bytes of
    ``F.unfold(x, ...)``: ``N * C * prod(kernel_size) * L`` elements, the
    unfolded matrix it multiplies. The profiler's own log lines are silenced.
    """
    from torch.profiler import ProfilerActivity, profile

    with _quiet_fd2(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(*args, **kwargs)
    sizes = [e.cpu_memory_usage for e in prof.events() if e.name == "aten::empty"]
    return max(sizes, default=0)


def onednn_primitives(fn, *args, **kwargs) -> set[str]:
    """The kinds of oneDNN primitive ``fn(*args, **kwargs)`` executed on the CPU
    (``"deconvolution"``, ``"convolution"``, ``"reorder"``, ...): empty when
    oneDNN did no work, as for a float64 convolution.

    oneDNN, the library that runs most float32 convolutions of PyTorch's x86
    CPU builds, works outside aten, so the profiler names no kernel for it
    (:func:`profiled_ops`). Its verbose mode
    (``torch.backends.mkldnn.verbose``) prints one line per primitive it
    executes, ``onednn_verbose,...,exec,cpu,<kind>,<implementation>,...`` with
    a time; this reads those lines from file descriptor 1 and keeps the
    kinds. Chapter 4 uses it to show that float32 ``F.conv_transpose2d``
    runs oneDNN's deconvolution.
    """
    import ctypes
    import os
    import sys
    import tempfile

    import torch

    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as log:
        try:
            os.dup2(log.fileno(), 1)
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                fn(*args, **kwargs)
            libc.fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
    kinds = set()
    for line in lines:
        fields = line.split(",")
        if fields[0] == "onednn_verbose" and "exec" in fields:
            at = fields.index("exec")
            if at + 2 < len(fields):
                kinds.add(fields[at + 2])
    return kinds
