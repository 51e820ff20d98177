"""Exercise checkers: test a reader's function against torch on random cases.

Each checker calls the reader's function on seeded random cases (the same
cases every run), compares with torch, and returns a :class:`CheckReport`
whose text says how many cases passed or, for the first failing case, the
arguments and what was wrong: the type, the shape, the values (largest
difference and where) or the gradient. A function that still raises
``NotImplementedError`` gets a friendly "not implemented yet".

Usage in a chapter::

    def my_unfold(x, kernel_size, dilation, padding, stride):
        raise NotImplementedError  # your code here

    exercises.check_unfold(my_unfold)

See CONTRIBUTING.md, "Adding an exercise". Checkers for chapter 1
(``check_num_blocks``, ``check_unfold``, ``check_parameters_for_L``), chapter 2
(``check_fold``, ``check_divisor``, ``check_invertible``, ``check_patch_average``),
chapter 3 (``check_conv2d``, ``check_conv_module``, ``check_conv_output_size``,
``check_output_shape``) and chapter 4 (``check_conv_transpose2d``,
``check_output_padding``, ``check_input_grad``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import shapes

__all__ = [
    "CheckReport",
    "check_num_blocks",
    "check_unfold",
    "check_fold",
    "check_conv2d",
    "check_conv_transpose2d",
    "check_parameters_for_L",
    "check_divisor",
    "check_invertible",
    "check_patch_average",
    "check_conv_module",
    "check_conv_output_size",
    "check_output_shape",
    "check_output_padding",
    "check_input_grad",
    "random_sliding_case",
]


@dataclass
class CheckReport:
    """The outcome of a checker: truthy when every case passed; prints as a report."""

    name: str
    total: int
    passed: int = 0
    failure: str | None = None
    not_implemented: bool = False
    notes: list = field(default_factory=list)

    def __bool__(self):
        return self.failure is None and not self.not_implemented and self.passed == self.total

    def __repr__(self):
        if self.not_implemented:
            return (
                f"NOT YET: {self.name} raises NotImplementedError.\n"
                f"Replace `raise NotImplementedError` with your code and run the cell again."
            )
        if self.failure is not None:
            return (
                f"FAILED: {self.name}, {self.passed} of {self.total} cases passed before "
                f"this one failed:\n{self.failure}"
            )
        return f"PASSED: {self.name}, all {self.total} cases agree with torch."

    __str__ = __repr__


def _fmt(kwargs):
    """Arguments as text; tensors by their shape (their values would flood the report)."""
    return ", ".join(
        f"{k}=<tensor of shape {tuple(v.shape)}>" if isinstance(v, torch.Tensor) else f"{k}={v!r}"
        for k, v in kwargs.items()
    )


def random_sliding_case(rng: random.Random, *, max_size=9):
    """Random legal 2-D unfold parameters: input size, kernel, stride, padding, dilation."""
    while True:
        k = (rng.randint(1, 4), rng.randint(1, 4))
        s = (rng.randint(1, 3), rng.randint(1, 3))
        p = (rng.randint(0, 2), rng.randint(0, 2))
        d = (rng.randint(1, 2), rng.randint(1, 2))
        size = (rng.randint(1, max_size), rng.randint(1, max_size))
        if all(d[i] * (k[i] - 1) + 1 <= size[i] + 2 * p[i] for i in range(2)):
            return dict(input_size=size, kernel_size=k, stride=s, padding=p, dilation=d)


def _call(fn, report, args, kwargs):
    """Run the reader's function; returns (ok, result)."""
    try:
        return True, fn(*args, **kwargs)
    except NotImplementedError:
        report.not_implemented = True
        return False, None
    except Exception as err:  # the reader's bug: report it, do not crash the notebook
        report.failure = (
            f"  case {report.passed + 1}: called with {_fmt(kwargs)}\n"
            f"  it raised {type(err).__name__}: {err}"
        )
        return False, None


def _compare(report, got, expected, where, *, atol=1e-6):
    """Fill ``report.failure`` if ``got`` differs from ``expected``; True if equal."""
    if not isinstance(got, torch.Tensor):
        report.failure = f"{where}\n  expected a torch.Tensor, got {type(got).__name__}"
        return False
    if tuple(got.shape) != tuple(expected.shape):
        report.failure = (
            f"{where}\n  shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
        )
        return False
    diff = (got.detach().double() - expected.detach().double()).abs()
    if diff.numel() and diff.max() > atol:
        index = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        report.failure = (
            f"{where}\n  values: largest difference {diff.max().item():.4g} at "
            f"index {index}: expected {expected[index].item():.4g}, "
            f"got {got[index].item():.4g}"
        )
        return False
    return True


def _tensor_checker(name, fn, cases, reference, *, grad=True, atol=1e-6):
    """Shared loop: value, then (optionally) gradient with respect to the tensors."""
    report = CheckReport(name, len(cases))
    for case in cases:
        tensors, kwargs = case
        expected = reference(*tensors, **kwargs)
        inputs = [t.detach().clone().requires_grad_(grad) for t in tensors]
        ok, got = _call(fn, report, inputs, kwargs)
        if not ok:
            return report
        shown = ", ".join(f"tensor of shape {tuple(t.shape)}" for t in tensors)
        where = f"  case {report.passed + 1}: called with {shown}, {_fmt(kwargs)}"
        if not _compare(report, got, expected, where, atol=atol):
            return report
        if grad and got.requires_grad:
            weight = torch.randn(
                expected.shape, generator=torch.Generator().manual_seed(7), dtype=expected.dtype
            )
            mine = torch.autograd.grad((got * weight).sum(), inputs, allow_unused=True)
            refs = [t.detach().clone().requires_grad_(True) for t in tensors]
            theirs = torch.autograd.grad((reference(*refs, **kwargs) * weight).sum(), refs)
            for i, (a, b) in enumerate(zip(mine, theirs)):
                a = torch.zeros_like(b) if a is None else a
                if not _compare(
                    report,
                    a,
                    b,
                    f"{where}\n  (the gradient with respect to argument {i})",
                    atol=atol,
                ):
                    return report
        report.passed += 1
    return report


def _value_checker(name, fn, cases, expected, why):
    """Shared loop: ``fn(**case) == expected(case)`` for every case (dicts of arguments).

    ``why(case, value)`` says where the expected value comes from, for the report.
    """
    cases = list(cases)
    report = CheckReport(name, len(cases))
    for case in cases:
        want = expected(case)
        ok, got = _call(fn, report, (), case)
        if not ok:
            return report
        if got != want:
            report.failure = (
                f"  case {report.passed + 1}: {_fmt(case)}\n  expected "
                f"{want!r} ({why(case, want)}), got {got!r}"
            )
            return report
        report.passed += 1
    return report


def check_num_blocks(fn, cases=30, seed=0) -> CheckReport:
    """Check ``fn(input_size, kernel_size, stride, padding, dilation) -> L`` (2-D tuples).

    The expected ``L`` is the number of columns ``F.unfold`` really returns.
    Chapter 1.
    """
    rng = random.Random(seed)

    def unfold_L(c):
        x = torch.zeros(1, 1, *c["input_size"])
        return F.unfold(x, c["kernel_size"], c["dilation"], c["padding"], c["stride"]).shape[-1]

    return _value_checker(
        "num_blocks",
        fn,
        (random_sliding_case(rng) for _ in range(cases)),
        unfold_L,
        lambda c, v: "the number of columns F.unfold returns",
    )


def _unfold_cases(rng, cases, dtype=torch.float64):
    out = []
    for _ in range(cases):
        c = random_sliding_case(rng)
        x = torch.randn(
            rng.randint(1, 2),
            rng.randint(1, 3),
            *c["input_size"],
            dtype=dtype,
            generator=torch.Generator().manual_seed(rng.randint(0, 10**6)),
        )
        out.append(
            (
                (x,),
                dict(
                    kernel_size=c["kernel_size"],
                    dilation=c["dilation"],
                    padding=c["padding"],
                    stride=c["stride"],
                ),
            )
        )
    return out


def check_unfold(fn, cases=20, seed=0, grad=True) -> CheckReport:
    """Check ``fn(x, kernel_size, dilation, padding, stride)`` against ``F.unfold``.

    ``x`` is ``(N, C, H, W)`` float64; parameters are 2-tuples. With ``grad``,
    the gradient with respect to ``x`` is compared too (when the result
    requires grad). Chapter 1.
    """
    return _tensor_checker(
        "unfold", fn, _unfold_cases(random.Random(seed), cases), F.unfold, grad=grad
    )


def check_fold(fn, cases=20, seed=0, grad=True) -> CheckReport:
    """Check ``fn(cols, output_size, kernel_size, dilation, padding, stride)`` against ``F.fold``.

    Chapter 2.
    """
    rng = random.Random(seed)
    built = []
    for (x,), kw in _unfold_cases(rng, cases):
        cols = F.unfold(x, **kw)
        built.append(((cols,), dict(output_size=tuple(x.shape[2:]), **kw)))
    return _tensor_checker("fold", fn, built, F.fold, grad=grad)


def check_conv2d(fn, cases=20, seed=0, groups=False, grad=True) -> CheckReport:
    """Check ``fn(x, weight, bias, stride, padding, dilation, groups)`` against ``F.conv2d``.

    With ``groups=True`` the cases include grouped and depthwise convolutions.
    Chapter 3.
    """
    rng = random.Random(seed)
    built = []
    for _ in range(cases):
        c = random_sliding_case(rng)
        g = rng.choice([1, 2, 3]) if groups else 1
        C_in, C_out = g * rng.randint(1, 2), g * rng.randint(1, 2)
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        x = torch.randn(
            rng.randint(1, 2), C_in, *c["input_size"], dtype=torch.float64, generator=gen
        )
        weight = torch.randn(
            C_out, C_in // g, *c["kernel_size"], dtype=torch.float64, generator=gen
        )
        bias = torch.randn(C_out, dtype=torch.float64, generator=gen)
        built.append(
            (
                (x, weight, bias),
                dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=g),
            )
        )
    return _tensor_checker(
        "conv2d" + (" with groups" if groups else ""), fn, built, F.conv2d, grad=grad
    )


TRANSPOSE_LEVELS = ("stride1", "stride", "all")


def check_conv_transpose2d(fn, cases=20, seed=0, level="all", grad=True) -> CheckReport:
    """Check ``fn(x, weight, bias, stride, padding, output_padding, groups, dilation)``
    against ``F.conv_transpose2d``.

    ``level``: ``"stride1"`` (stride 1, padding 0, dilation 1, one group: the
    forum's case), ``"stride"`` (any stride, still no padding, dilation or
    groups) or ``"all"`` (every parameter, groups included). Chapter 4.
    """
    if level not in TRANSPOSE_LEVELS:
        raise ValueError(f"level={level!r} is not a level: use one of {TRANSPOSE_LEVELS}")
    rng = random.Random(seed)
    built = []
    while len(built) < cases:
        k = (rng.randint(1, 4), rng.randint(1, 4))
        s = (rng.randint(1, 3), rng.randint(1, 3)) if level != "stride1" else (1, 1)
        full = level == "all"
        d = (rng.randint(1, 2), rng.randint(1, 2)) if full else (1, 1)
        p = (rng.randint(0, 2), rng.randint(0, 2)) if full else (0, 0)
        op = tuple(rng.randint(0, max(s[i], d[i]) - 1) for i in range(2)) if full else (0, 0)
        g = rng.choice([1, 1, 2]) if full else 1
        size = (rng.randint(1, 6), rng.randint(1, 6))
        try:
            shapes.conv_transpose_output_shape(size, k, s, p, op, d)
        except ValueError:
            continue
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        C_in, C_out = g * rng.randint(1, 2), g * rng.randint(1, 2)
        x = torch.randn(rng.randint(1, 2), C_in, *size, dtype=torch.float64, generator=gen)
        weight = torch.randn(C_in, C_out // g, *k, dtype=torch.float64, generator=gen)
        bias = torch.randn(C_out, dtype=torch.float64, generator=gen)
        built.append(
            ((x, weight, bias), dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d))
        )
    return _tensor_checker(f"conv_transpose2d ({level})", fn, built, F.conv_transpose2d, grad=grad)


def check_parameters_for_L(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(input_size, L) -> dict`` of 2-D ``kernel_size, stride, padding, dilation``.

    Any answer is right if ``F.unfold`` with those parameters really gives ``L``
    blocks from an input of ``input_size``. Chapter 1.
    """
    rng = random.Random(seed)
    report = CheckReport("parameters_for_L", cases)
    for _ in range(cases):
        case = random_sliding_case(rng)
        L = shapes.num_blocks(
            case["input_size"],
            case["kernel_size"],
            case["dilation"],
            case["padding"],
            case["stride"],
        )
        args = dict(input_size=case["input_size"], L=L)
        ok, got = _call(fn, report, (), args)
        if not ok:
            return report
        where = f"  case {report.passed + 1}: {_fmt(args)}"
        if not isinstance(got, dict) or not {"kernel_size", "stride", "padding", "dilation"} <= set(
            got
        ):
            report.failure = (
                f"{where}\n  expected a dict with kernel_size, stride, padding "
                f"and dilation, got {got!r}"
            )
            return report
        x = torch.zeros(1, 1, *case["input_size"])
        try:
            blocks = F.unfold(
                x, got["kernel_size"], got["dilation"], got["padding"], got["stride"]
            ).shape[-1]
        except (RuntimeError, ValueError, TypeError) as err:
            report.failure = f"{where}\n  F.unfold rejects {got!r}: {str(err).splitlines()[0]}"
            return report
        if blocks != L:
            report.failure = f"{where}\n  with {got!r}, F.unfold gives L={blocks}, not {L}"
            return report
        report.passed += 1
    return report


def _divisor(output_size, kernel_size, dilation, padding, stride):
    ones = torch.ones(1, 1, *output_size, dtype=torch.float64)
    cols = F.unfold(ones, kernel_size, dilation, padding, stride)
    return F.fold(cols, output_size, kernel_size, dilation, padding, stride)[0, 0]


def check_divisor(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(output_size, kernel_size, dilation, padding, stride)`` returns the
    ``(H, W)`` divisor: how many blocks cover each pixel. Chapter 2.
    """
    rng = random.Random(seed)
    built = []
    for _ in range(cases):
        c = random_sliding_case(rng)
        built.append(
            (
                (),
                dict(
                    output_size=c["input_size"],
                    kernel_size=c["kernel_size"],
                    dilation=c["dilation"],
                    padding=c["padding"],
                    stride=c["stride"],
                ),
            )
        )
    return _tensor_checker("divisor", fn, built, _divisor, grad=False)


def check_invertible(fn, cases=40, seed=0) -> CheckReport:
    """Check ``fn(input_size, kernel_size, stride, padding, dilation) -> bool``: can
    ``x`` be recovered from ``unfold(x)`` by ``fold`` and a division? (True exactly
    when every pixel is covered by some block.) Chapter 2.
    """
    rng = random.Random(seed)

    def covered(c):
        return bool(
            (
                _divisor(
                    c["input_size"], c["kernel_size"], c["dilation"], c["padding"], c["stride"]
                )
                > 0
            ).all()
        )

    return _value_checker(
        "invertible",
        fn,
        (random_sliding_case(rng) for _ in range(cases)),
        covered,
        lambda c, v: f"the divisor {'has no' if v else 'has'} zeros",
    )


def _patch_average(x, kernel_size, stride):
    """Each pixel: the mean, over the blocks covering it, of that block's mean.
    Pixels covered by no block keep their value."""
    N, C, H, W = x.shape
    cols = F.unfold(x, kernel_size, stride=stride)  # (N, C*K, L)
    K = cols.shape[1] // C
    means = cols.view(N, C, K, -1).mean(dim=2, keepdim=True).expand(N, C, K, cols.shape[-1])
    summed = F.fold(means.reshape(N, C * K, -1), (H, W), kernel_size, stride=stride)
    divisor = _divisor((H, W), kernel_size, 1, 0, stride).to(x.dtype)
    return torch.where(divisor > 0, summed / divisor.clamp(min=1), x)


def check_patch_average(fn, cases=20, seed=0, grad=True) -> CheckReport:
    """Check ``fn(x, kernel_size, stride)``: replace every block by its mean, fold the
    blocks back and divide by the divisor (pixels that no block covers keep their
    value). Chapter 2.
    """
    rng = random.Random(seed)
    built = []
    for _ in range(cases):
        c = random_sliding_case(rng)
        k = c["kernel_size"]
        size = (max(c["input_size"][0], k[0]), max(c["input_size"][1], k[1]))
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        x = torch.randn(
            rng.randint(1, 2), rng.randint(1, 3), *size, dtype=torch.float64, generator=gen
        )
        built.append(((x,), dict(kernel_size=k, stride=c["stride"])))
    return _tensor_checker("patch_average", fn, built, _patch_average, grad=grad)


def check_conv_module(cls, cases=12, seed=0) -> CheckReport:
    """Check a module class ``cls(in_channels, out_channels, kernel_size, stride, padding,
    dilation)`` without bias against ``nn.Conv2d(..., bias=False)`` with the same weight.

    The weight is copied into ``module.weight``. Chapter 3 (the forum's ``MyConv2d``).
    """
    rng = random.Random(seed)
    report = CheckReport(getattr(cls, "__name__", "module"), cases)
    for _ in range(cases):
        c = random_sliding_case(rng)
        k, s, p, d = (c["kernel_size"][0], c["stride"][0], c["padding"][0], c["dilation"][0])
        H = max(c["input_size"][0], d * (k - 1) + 1)
        C_in, C_out = rng.randint(1, 3), rng.randint(1, 3)
        kwargs = dict(
            in_channels=C_in, out_channels=C_out, kernel_size=k, stride=s, padding=p, dilation=d
        )
        reference = torch.nn.Conv2d(**kwargs, bias=False).double()
        ok, module = _call(cls, report, (), kwargs)
        if not ok:
            return report
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        x = torch.randn(2, C_in, H, H + 1, dtype=torch.float64, generator=gen)
        try:
            module.weight.data = reference.weight.data.clone()
            module = module.double()
        except Exception as err:
            report.failure = (
                f"  case {report.passed + 1}: {_fmt(kwargs)}\n  could not set "
                f"module.weight: {type(err).__name__}: {err}"
            )
            return report
        where = f"  case {report.passed + 1}: {_fmt(kwargs)}, x of shape {tuple(x.shape)}"
        try:
            got = module(x)
        except NotImplementedError:
            report.not_implemented = True
            return report
        except Exception as err:
            report.failure = f"{where}\n  forward raised {type(err).__name__}: {err}"
            return report
        if not _compare(report, got, reference(x), where):
            return report
        report.passed += 1
    return report


def _legal_1d_cases(rng, cases, min_stride=1):
    """``cases`` one-dimensional conv parameter sets whose block fits the input."""
    out = []
    while len(out) < cases:
        c = random_sliding_case(rng, max_size=30)
        args = dict(
            size=c["input_size"][0],
            kernel_size=c["kernel_size"][0],
            stride=c["stride"][0] + min_stride - 1,
            padding=c["padding"][0],
            dilation=c["dilation"][0],
        )
        if args["dilation"] * (args["kernel_size"] - 1) + 1 <= args["size"] + 2 * args["padding"]:
            out.append(args)
    return out


def _conv1d_size(a):
    return F.conv1d(
        torch.zeros(1, 1, a["size"]),
        torch.zeros(1, 1, a["kernel_size"]),
        stride=a["stride"],
        padding=a["padding"],
        dilation=a["dilation"],
    ).shape[-1]


def check_conv_output_size(fn, cases=40, seed=0) -> CheckReport:
    """Check ``fn(size, kernel_size, stride, padding, dilation) -> int`` (one dimension)
    against the size ``F.conv1d`` really produces. Chapter 3.
    """
    return _value_checker(
        "conv_output_size",
        fn,
        _legal_1d_cases(random.Random(seed), cases),
        _conv1d_size,
        lambda c, v: "what F.conv1d returns",
    )


def check_output_shape(fn, cases=30, seed=0) -> CheckReport:
    """Check ``fn(x_shape, weight_shape, stride, padding, dilation, groups) -> tuple``,
    the shape of ``F.conv2d``'s output (``(N, C_out, H_out, W_out)``), and that it raises
    ``ValueError`` when torch refuses the shapes (channels that do not match ``groups``).
    Chapter 3.
    """
    rng = random.Random(seed)
    report = CheckReport("output_shape", cases)
    for case in range(cases):
        c = random_sliding_case(rng, max_size=12)
        illegal = case % 5 == 4  # every fifth case: channels that groups cannot split
        g = rng.choice([2, 3]) if illegal else rng.choice([1, 1, 2, 3])
        C_in = g * rng.randint(1, 3) + (1 if illegal else 0)
        C_out = g * rng.randint(1, 3)
        args = dict(
            x_shape=(rng.randint(1, 4), C_in, *c["input_size"]),
            weight_shape=(C_out, max(C_in // g, 1), *c["kernel_size"]),
            stride=c["stride"],
            padding=c["padding"],
            dilation=c["dilation"],
            groups=g,
        )
        try:
            expected = tuple(
                F.conv2d(
                    torch.zeros(args["x_shape"]),
                    torch.zeros(args["weight_shape"]),
                    None,
                    c["stride"],
                    c["padding"],
                    c["dilation"],
                    g,
                ).shape
            )
        except RuntimeError:
            expected = ValueError
        try:
            got = fn(**args)
        except NotImplementedError:
            report.not_implemented = True
            return report
        except ValueError:
            got = ValueError
        except Exception as err:
            report.failure = (
                f"  case {report.passed + 1}: {_fmt(args)}\n  it raised {type(err).__name__}: {err}"
            )
            return report
        if expected is ValueError or got is ValueError:
            mismatch = got is not expected
        else:
            mismatch = tuple(got) != expected
        if mismatch:
            shown = "a ValueError" if expected is ValueError else expected
            report.failure = (
                f"  case {report.passed + 1}: {_fmt(args)}\n  expected {shown}, "
                f"got {'a ValueError' if got is ValueError else got!r}"
            )
            return report
        report.passed += 1
    return report


def check_output_padding(fn, cases=40, seed=0) -> CheckReport:
    """Check ``fn(size, kernel_size, stride, padding, dilation) -> int`` (one dimension):
    the ``output_padding`` with which ``conv_transpose1d`` maps ``conv1d``'s output back
    to ``size``. Verified by running both in torch. Chapter 4.
    """
    report = CheckReport("output_padding", cases)
    for a in _legal_1d_cases(random.Random(seed), cases, min_stride=2):
        conv_size = _conv1d_size(a)
        ok, got = _call(fn, report, (), a)
        if not ok:
            return report
        where = f"  case {report.passed + 1}: {_fmt(a)} (conv output size {conv_size})"
        try:
            back = F.conv_transpose1d(
                torch.zeros(1, 1, conv_size),
                torch.zeros(1, 1, a["kernel_size"]),
                stride=a["stride"],
                padding=a["padding"],
                output_padding=got,
                dilation=a["dilation"],
            ).shape[-1]
        except (RuntimeError, TypeError) as err:
            report.failure = (
                f"{where}\n  output_padding={got!r} is refused by torch: {str(err).splitlines()[0]}"
            )
            return report
        if back != a["size"]:
            report.failure = (
                f"{where}\n  with output_padding={got!r} the transposed "
                f"convolution gives size {back}, not {a['size']}"
            )
            return report
        report.passed += 1
    return report


def check_input_grad(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(grad_y, weight, input_size, stride, padding, dilation, groups)``, the
    gradient of ``conv2d`` with respect to its input, against autograd. Chapter 4.
    """
    rng = random.Random(seed)
    report = CheckReport("input_grad", cases)
    for _ in range(cases):
        c = random_sliding_case(rng)
        g = rng.choice([1, 1, 2])
        C_in, C_out = g * rng.randint(1, 2), g * rng.randint(1, 2)
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        x = torch.randn(
            rng.randint(1, 2),
            C_in,
            *c["input_size"],
            dtype=torch.float64,
            generator=gen,
            requires_grad=True,
        )
        weight = torch.randn(
            C_out, C_in // g, *c["kernel_size"], dtype=torch.float64, generator=gen
        )
        kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=g)
        y = F.conv2d(x, weight, **kw)
        grad_y = torch.randn(y.shape, dtype=torch.float64, generator=gen)
        (expected,) = torch.autograd.grad(y, x, grad_y)
        args = dict(grad_y=grad_y, weight=weight, input_size=tuple(x.shape[2:]), **kw)
        ok, got = _call(fn, report, (), args)
        if not ok:
            return report
        where = (
            f"  case {report.passed + 1}: grad_y of shape {tuple(grad_y.shape)}, weight "
            f"of shape {tuple(weight.shape)}, input_size={tuple(x.shape[2:])}, {_fmt(kw)}"
        )
        if not _compare(report, got, expected, where):
            return report
        report.passed += 1
    return report
