"""Exercise checkers: test a reader's function against torch, simple cases first.

Each checker calls the reader's function on seeded cases (the same cases every
run), compares with torch, and returns a :class:`CheckReport` whose text says
how many cases passed or, for the first failing case, what that case changes
from torch's defaults, its arguments and what was wrong:

- the type or the shape of the result;
- its values: the largest difference and where, or a nan/inf where torch's
  value is finite;
- its gradient (checkers with ``grad=True``): wrong, or missing (a result
  that does not require grad, or a gradient that is None or zero where
  torch's is not);
- a call of the very operation the exercise asks the reader to write
  (``F.unfold`` in an unfold exercise, ``F.fold`` in a fold exercise, any torch
  convolution in a convolution exercise), recorded at the aten level by
  :func:`convlab.aten.record_aten_ops` while the reader's function and its
  backward run (torch's own answer is computed outside the recording).

A function that still raises ``NotImplementedError`` gets a friendly "not
implemented yet".

The cases go from simple to hard: torch's defaults first (``stride=1``,
``padding=0``, ``dilation=1``, ``groups=1``, ``output_padding=0``), then one
parameter changed at a time, then combinations. A failure says what its case
changes, so the first one names the parameter a function mishandles::

    FAILED: unfold, 2 of 20 cases passed before this one failed:
      case 3 (stride=2; everything else default)
      called with x of shape (1, 2, 7, 6), kernel_size=(2, 3), ...

Usage in a chapter::

    def my_unfold(x, kernel_size, dilation, padding, stride):
        raise NotImplementedError  # your code here

    exercises.check_unfold(my_unfold)

See CONTRIBUTING.md, "Adding an exercise". Checkers for chapter 1
(``check_keeps_count``, ``check_unfold``, ``check_parameters_for_L``),
chapter 2 (``check_fold``, ``check_divisor``, ``check_invertible``,
``check_output_sizes``, ``check_weighted_average``), chapter 3
(``check_conv2d``, ``check_conv_module``, ``check_conv_output_size``,
``check_output_shape``), chapter 4 (``check_conv_transpose2d``,
``check_subpixel``, ``check_tconv_input_grad``, ``check_phase_pattern``) and
chapter 5 (``check_conv_input_grad``, ``check_conv_weight_grad``,
``check_conv_bias_grad``, ``check_conv_function``, ``check_per_sample_grads``,
``check_tconv_weight_grad``).
Every one is called by a chapter's exercise (tests/test_exercises.py checks).
"""

from __future__ import annotations

import inspect
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from . import aten, shapes

__all__ = [
    "CheckReport",
    "check_keeps_count",
    "check_unfold",
    "check_fold",
    "check_conv2d",
    "check_conv_transpose2d",
    "check_parameters_for_L",
    "check_divisor",
    "check_invertible",
    "check_weighted_average",
    "check_output_sizes",
    "check_conv_module",
    "check_conv_output_size",
    "check_output_shape",
    "check_subpixel",
    "check_tconv_input_grad",
    "subpixel_macs",
    "check_phase_pattern",
    "check_conv_input_grad",
    "check_conv_weight_grad",
    "check_conv_bias_grad",
    "check_conv_function",
    "check_per_sample_grads",
    "check_tconv_weight_grad",
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
                f"this one failed:\n{_wrap(self.failure)}"
            )
        return f"PASSED: {self.name}, all {self.total} cases agree with torch."

    __str__ = __repr__


def _wrap(text, width=76):
    """Fill each line of ``text`` to ``width`` columns, continuation lines indented two
    more spaces; never inside parentheses (a shape stays whole)."""
    out = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith("case "):  # "case 3 (what it changes)" stays whole
            out.append(line)
            continue
        words, depth, word = [], 0, ""
        for char in line.lstrip():
            depth += (char in "([{") - (char in ")]}")
            if char == " " and depth == 0:
                words.append(word)
                word = ""
            else:
                word += char
        words.append(word)
        current = indent + words[0]
        for word in words[1:]:
            if len(current) + 1 + len(word) > width:
                out.append(current)
                current = indent + "  " + word
            else:
                current += " " + word
        out.append(current)
    return "\n".join(out)


def _fmt(kwargs):
    """Arguments as text; tensors by their shape (their values would flood the report)."""
    return ", ".join(
        f"{k}=<tensor of shape {tuple(v.shape)}>" if isinstance(v, torch.Tensor) else f"{k}={v!r}"
        for k, v in kwargs.items()
    )


# --------------------------------------------------------------------------
# the cases, from simple to hard
# --------------------------------------------------------------------------
#: torch's default of every parameter a case may change, in the order reports name them
_DEFAULTS = dict(stride=1, padding=0, dilation=1, groups=1, output_padding=0)
#: the values each parameter takes in the cases (inclusive)
_RANGES = dict(stride=(1, 3), padding=(0, 2), dilation=(1, 2), groups=(1, 3))


def _plans(rng, count, knobs, *, base=None, ranges=None, pairs=True, output_padding=False):
    """The parameter settings of ``count`` cases, from simple to hard; and how many are simple.

    A plan maps ``stride``, ``padding``, ``dilation`` and ``output_padding`` to
    pairs and ``groups`` to an int. First torch's defaults (updated by ``base``)
    twice; then each of ``knobs`` changed alone, twice (an equal pair, then an
    uneven one; with ``pairs=False``, two values); then, with
    ``output_padding``, an output_padding with the stride it needs, twice; then
    random combinations changing at least two of ``knobs`` (at least one when
    there is one knob; none when there are none).
    """
    ranges = {**_RANGES, **(ranges or {})}
    start = {k: v if k == "groups" else (v, v) for k, v in _DEFAULTS.items()}
    start.update(base or {})
    plans = [dict(start), dict(start)]
    for knob in knobs:
        low, high = ranges[knob]
        if knob == "groups":
            values = list(range(max(low, 2), high + 1))
            plans += [{**start, knob: values[0]}, {**start, knob: values[-1]}]
            continue
        others = [v for v in range(low, high + 1) if v != start[knob][0]]
        even = rng.choice(others)
        if pairs:
            uneven = tuple(rng.sample(range(low, high + 1), 2))
        else:
            v = rng.choice([o for o in others if o != even] or others)
            uneven = (v, v)
        plans += [{**start, knob: (even, even)}, {**start, knob: uneven}]
    if output_padding:
        s = rng.randint(2, 3)
        plans.append({**start, "stride": (s, s), "output_padding": (s - 1, s - 1)})
        stride = (2, 3) if rng.random() < 0.5 else (3, 2)
        output_padding = (rng.randint(1, stride[0] - 1), rng.randint(1, stride[1] - 1))
        plans.append({**start, "stride": stride, "output_padding": output_padding})
    simple = len(plans)
    need = min(2, len(knobs))
    while len(plans) < count:
        plan = dict(start)
        for knob in knobs:
            low, high = ranges[knob]
            if knob == "groups":
                plan[knob] = rng.randint(low, high)
            else:
                v = rng.randint(low, high)
                plan[knob] = (v, rng.randint(low, high) if pairs else v)
        if output_padding:
            plan["output_padding"] = tuple(
                rng.randint(0, max(s, d) - 1) for s, d in zip(plan["stride"], plan["dilation"])
            )
        if sum(plan[k] != start[k] for k in knobs) >= need:
            plans.append(plan)
    return plans[:count], simple


def _fit(rng, plan, *, simple, square=False, max_size=9):
    """``(kernel_size, input_size)`` pairs for a plan, legal for unfold.

        In a simple case the input is a block plus one stride or a little more, so
        every parameter the case changes changes the result (and a dilated kernel
        has at least two taps); in other cases kernel and input size are random, as
    long as the dilated kernel fits the padded input.
    """
    kernel, size = [], []
    for s, p, d in zip(plan["stride"], plan["padding"], plan["dilation"]):
        k = rng.randint(2, 4) if simple else rng.randint(2 if d > 1 else 1, 4)
        extra = s if simple and s > 1 else 0
        while k > 1 and d * (k - 1) + 1 + extra > max_size:
            k -= 1
        span = d * (k - 1) + 1
        if simple:
            low = span + extra
            n = rng.randint(low, min(max_size, low + 3))
        else:
            n = rng.randint(max(1, span - 2 * p), max_size)
        kernel.append(k)
        size.append(n)
    if square:
        kernel[1], size[1] = kernel[0], size[0]
    return tuple(kernel), tuple(size)


def _sliding_cases(rng, count, knobs=("stride", "padding", "dilation"), **kw):
    """Cases ``dict(input_size, kernel_size, stride, padding, dilation, groups)`` (pairs,
    ``groups`` an int) from simple to hard; ``kw`` as for :func:`_plans`, plus
    ``max_size``."""
    max_size = kw.pop("max_size", 9)
    plans, simple = _plans(rng, count, knobs, **kw)
    out = []
    for i, plan in enumerate(plans):
        k, size = _fit(rng, plan, simple=i < simple, square=i == 0, max_size=max_size)
        out.append(
            dict(
                input_size=size,
                kernel_size=k,
                stride=plan["stride"],
                padding=plan["padding"],
                dilation=plan["dilation"],
                groups=plan["groups"],
            )
        )
    return out


def _short(value):
    """``(2, 2)`` reads ``2``; an uneven pair stays a pair."""
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else tuple(value)
    return value


def _is_default(name, value):
    values = value if isinstance(value, (tuple, list)) else (value,)
    return all(v == _DEFAULTS[name] for v in values)


def _describe(case):
    """What a case changes from torch's defaults, in words: ``stride=2; everything
    else default``, or ``all defaults: stride=1, padding=0, dilation=1``."""
    present = [k for k in _DEFAULTS if k in case]
    changed = [f"{k}={_short(case[k])}" for k in present if not _is_default(k, case[k])]
    if not changed:
        return "all defaults: " + ", ".join(f"{k}={_DEFAULTS[k]}" for k in present)
    if len(changed) < len(present):
        return ", ".join(changed) + "; everything else default"
    return ", ".join(changed)


def _where(report, case, called, about=None):
    """The first lines of a failure: the case number, what it changes, the call."""
    return (
        f"  case {report.passed + 1} ({about or _describe(case)})\n"
        f"  called with {called or 'no arguments'}"
    )


# --------------------------------------------------------------------------
# running the reader's function
# --------------------------------------------------------------------------
_TORCH_DIR = Path(torch.__file__).resolve().parent

#: how a report names each kind of forbidden operation (keys of ``aten.OPS``)
_CALLED = {
    "unfold": "calls F.unfold",
    "fold": "calls F.fold",
    "convolution": "calls a torch convolution such as F.conv2d, F.conv_transpose2d or nn.Conv2d",
    "convolution_backward": "asks torch for a convolution's gradient, by autograd or torch.nn.grad",
}

# What each exercise may not call (kinds of ``aten.OPS``), and what to do instead.
_NO_UNFOLD = (("unfold",), "pad, then gather the blocks by indexing or views, and reshape.")
_NO_FOLD = (("fold",), "add the blocks back yourself, with index_add_ or a loop.")
_NO_CONV = (("convolution",), "use unfold (or fold) and matrix products instead.")
_COUNT_BLOCKS = (("unfold", "fold"), "count the blocks yourself, with loops over the positions.")
_ARITHMETIC_UNFOLD = (("unfold",), "compute the count with integer arithmetic.")
_ARITHMETIC_DIVISOR = (("unfold", "fold"), "decide with arithmetic per dimension.")
_ARITHMETIC_CONV = (("convolution",), "compute the size with integer arithmetic.")


def _first_line(err):
    """The first line of an exception's message (torch's run on for pages)."""
    return (str(err).strip().splitlines() or [""])[0].rstrip(",")


def _raised_by_torch(err):
    """True if an exception was raised inside torch (an unsupported dtype, say),
    not by the reader's own ``raise NotImplementedError``."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_TORCH_DIR)


def _forbidden(report, ops, forbid, where):
    """Fill ``report.failure`` if the recorded ``ops`` hold an op ``forbid`` names."""
    if not forbid:
        return False
    kinds, advice = forbid
    for kind in kinds:
        names = aten.calls(ops, kind)
        if names:
            ran = ", ".join(f"aten.{n}" for n in names)
            report.failure = (
                f"{where}\n  it {_CALLED[kind]} (torch ran {ran}), which this "
                f"exercise asks you to do without: {advice}"
            )
            return True
    return False


_CONVLAB_CODE: dict | None = None


def _convlab_code() -> dict:
    """The code object of every function and method that convlab's ops, shapes, nn and
    exercises modules define, with the name a reader would call it by (the checkers
    and their report excepted)."""
    global _CONVLAB_CODE
    if _CONVLAB_CODE is None:
        import convlab

        from . import nn, ops, shapes

        public = set(convlab.__all__)
        found = {}
        for module in (ops, shapes, nn, sys.modules[__name__]):
            short = module.__name__.rsplit(".", 1)[-1]
            for name, obj in vars(module).items():
                if getattr(obj, "__module__", None) != module.__name__:
                    continue
                prefix = "convlab." if name in public else f"convlab.{short}."
                if inspect.isfunction(obj) and not name.startswith("check_"):
                    found[obj.__code__] = (name, prefix + name)
                elif inspect.isclass(obj) and obj is not CheckReport:
                    for method, f in vars(obj).items():
                        if inspect.isfunction(f):
                            found[f.__code__] = (name, f"{prefix}{name}.{method}")
        _CONVLAB_CODE = found
    return _CONVLAB_CODE


# The tests of the checkers build right answers from convlab's own ops; they set this.
_LET_ANSWERS_CALL_CONVLAB = False


class _ConvlabCall(Exception):
    """An answer called a function of convlab that its exercise does not offer."""


def _no_convlab(allow):
    """A profile function that raises :class:`_ConvlabCall` when the reader's code calls a
    function of convlab (not one in ``allow``) directly: what convlab's own functions
    call inside is theirs."""
    code = _convlab_code()
    files = {c.co_filename for c in code}

    def profile(frame, event, arg):
        if event != "call" or frame.f_code not in code:
            return
        name, qualified = code[frame.f_code]
        caller = frame.f_back
        if name in allow or (caller is not None and caller.f_code.co_filename in files):
            return
        raise _ConvlabCall(qualified)

    return profile


def _watched(run, allow=()):
    """``run()`` and the names of the aten ops it dispatched; a call of a function of
    convlab other than those in ``allow`` raises :class:`_ConvlabCall`."""
    previous = sys.getprofile()
    with aten.record_aten_ops() as ops:
        if not _LET_ANSWERS_CALL_CONVLAB:
            sys.setprofile(_no_convlab(allow))
        try:
            result = run()
        finally:
            sys.setprofile(previous)
    return result, ops


def _convlab_failure(where, what, err, allow):
    offered = ", ".join(f"convlab.{a}" for a in allow) or "nothing"
    return (
        f"{where}\n  {what} calls {err.args[0]}: an answer may use torch, and of "
        f"convlab only what its exercise offers (here: {offered})"
    )


def _call(fn, report, args, kwargs, where, forbid=None, what="it", allow=()):
    """Run the reader's function, recording the aten ops it dispatches; returns (ok, result).

    Not ok: it raised ``NotImplementedError`` (``report.not_implemented``), raised
    anything else, called an operation ``forbid`` names, or called a function of
    convlab other than the ones in ``allow`` (the book's own answers are there)
    (``report.failure``).
    """
    try:
        result, ops = _watched(lambda: fn(*args, **kwargs), allow)
    except _ConvlabCall as err:
        report.failure = _convlab_failure(where, what, err, allow)
        return False, None
    except NotImplementedError as err:
        if not _raised_by_torch(err):
            report.not_implemented = True
            return False, None
        report.failure = f"{where}\n  {what} raised NotImplementedError: {err}"
        return False, None
    except Exception as err:  # the reader's bug: report it, do not crash the notebook
        report.failure = f"{where}\n  {what} raised {type(err).__name__}: {err}"
        return False, None
    if _forbidden(report, ops, forbid, where):
        return False, None
    return True, result


def _compare(report, got, expected, where, *, atol=1e-6):
    """Fill ``report.failure`` if ``got`` differs from ``expected``; True if equal.

    A nan or inf where torch's value is finite is a failure of its own (a nan
    compares false with everything, so a plain difference would miss it).
    """
    if not isinstance(got, torch.Tensor):
        report.failure = f"{where}\n  expected a torch.Tensor, got {type(got).__name__}"
        return False
    if tuple(got.shape) != tuple(expected.shape):
        report.failure = (
            f"{where}\n  shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
        )
        return False
    mine = got.detach().to(torch.float64)
    theirs = expected.detach().to(torch.float64)
    broken = ~torch.isfinite(mine) & torch.isfinite(theirs)
    if broken.any():
        index = tuple(int(i) for i in torch.nonzero(broken)[0])
        report.failure = (
            f"{where}\n  values: {int(broken.sum())} of {broken.numel()} values are nan "
            f"or inf where torch's are finite; the first at index {index}: expected "
            f"{theirs[index].item():.4g}, got {mine[index].item()}"
        )
        return False
    same = (mine == theirs) | (torch.isnan(mine) & torch.isnan(theirs))
    diff = torch.where(same, 0.0, (mine - theirs).abs()).nan_to_num(nan=float("inf"))
    if diff.numel() and diff.max() > atol:
        index = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        report.failure = (
            f"{where}\n  values: largest difference {diff.max().item():.4g} at "
            f"index {index}: expected {theirs[index].item():.4g}, "
            f"got {mine[index].item():.4g}"
        )
        return False
    return True


_AUTOGRAD_HINT = (
    "compute it from the inputs with torch operations that autograd can follow: "
    "no .detach(), .data, .item(), .numpy() or torch.no_grad()."
)


def _grad_agrees(
    report, got, inputs, tensors, kwargs, reference, where, names, forbid, atol, **hints
):
    """Compare the gradients of ``sum(got * w)`` (``w`` random) with torch's; True if equal.

    The reader's backward is recorded (a forbidden op, or a call of convlab
    other than ``hints["allow"]``, may hide there); torch's is not. The other
    ``hints``: ``hint`` follows a gradient that is missing, ``error_hint`` an
    error raised by the backward.
    """
    allow = hints.get("allow", ())
    hint, error_hint = hints.get("hint", _AUTOGRAD_HINT), hints.get("error_hint", "")
    weight = torch.randn(got.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    refs = [t.detach().clone().requires_grad_(True) for t in tensors]
    out = reference(*refs, **kwargs)
    theirs = torch.autograd.grad((out * weight.to(out.dtype)).sum(), refs, allow_unused=True)
    theirs = [torch.zeros_like(r) if b is None else b for r, b in zip(refs, theirs)]
    if not got.requires_grad:
        if any(bool(b.any()) for b in theirs):
            report.failure = (
                f"{where}\n  the values are right, but the result does not require grad: "
                f"it carries no gradient, and the checker compares gradients too; " + _AUTOGRAD_HINT
            )
            return False
        return True
    try:
        mine, ops = _watched(
            lambda: torch.autograd.grad(
                (got * weight.to(got.dtype)).sum(), inputs, allow_unused=True
            ),
            allow,
        )
    except _ConvlabCall as err:
        report.failure = _convlab_failure(where, "its backward", err, allow)
        return False
    except NotImplementedError as err:  # a custom backward still to write
        if _raised_by_torch(err):
            report.failure = f"{where}\n  its backward raised NotImplementedError: {err}"
        else:
            report.not_implemented = True
        return False
    except Exception as err:
        report.failure = (
            f"{where}\n  the values are right, but computing the gradient raised "
            f"{type(err).__name__}: {err}{error_hint}"
        )
        return False
    if _forbidden(report, ops, forbid, where):
        return False
    for name, a, b in zip(names, mine, theirs):
        if (a is None or not a.any()) and b.any():
            report.failure = (
                f"{where}\n  the values are right, but no gradient reaches {name}: autograd "
                f"gives {'None' if a is None else 'zeros'} where torch's gradient is not "
                f"zero; " + hint
            )
            return False
        a = torch.zeros_like(b) if a is None else a
        if not _compare(
            report,
            a,
            b,
            f"{where}\n  the values are right, but the gradient with respect to {name} is not:",
            atol=atol,
        ):
            return False
    return True


def _tensor_checker(
    name,
    fn,
    cases,
    reference,
    *,
    grad=True,
    atol=1e-6,
    names=("x",),
    forbid=None,
    allow=(),
    **hints,
):
    """Shared loop: the value, then (with ``grad``) the gradient with respect to the
    tensors, named ``names`` in reports. ``cases``: ``(tensors, kwargs)`` pairs, or
    ``(tensors, kwargs, about)`` (what the case is, for the report);
    ``hints``: ``hint`` and ``error_hint`` of :func:`_grad_agrees`."""
    report = CheckReport(name, len(cases))
    backward = dict(names=names, forbid=forbid, atol=atol, allow=allow, **hints)
    for tensors, kwargs, *about in cases:
        expected = reference(*tensors, **kwargs)
        inputs = [t.detach().clone().requires_grad_(grad) for t in tensors]
        shown = [f"{n} of shape {tuple(t.shape)}" for n, t in zip(names, tensors)]
        where = _where(
            report,
            kwargs,
            ", ".join([*shown, _fmt(kwargs)] if kwargs else shown),
            about[0] if about else None,
        )
        ok, got = _call(fn, report, inputs, kwargs, where, forbid, allow=allow)
        if not ok:
            return report
        if not _compare(report, got, expected, where, atol=atol):
            return report
        if grad and not _grad_agrees(
            report, got, inputs, tensors, kwargs, reference, where, **backward
        ):
            return report
        report.passed += 1
    return report


def _value_checker(name, fn, cases, expected, why, *, forbid=None, about=None):
    """Shared loop: ``fn(**case) == expected(case)`` for every case (dicts of arguments).

    ``why(case, value)`` says where the expected value comes from, for the report;
    ``about(case)``, what the case is (default: what it changes from the defaults).
    """
    cases = list(cases)
    report = CheckReport(name, len(cases))
    for case in cases:
        want = expected(case)
        where = _where(report, case, _fmt(case), about and about(case))
        ok, got = _call(fn, report, (), case, where, forbid)
        if not ok:
            return report
        if got != want:
            report.failure = f"{where}\n  expected {want!r} ({why(case, want)}), got {got!r}"
            return report
        report.passed += 1
    return report


# --------------------------------------------------------------------------
# chapter 1
# --------------------------------------------------------------------------
def _unfold_args(c):
    return dict(
        input_size=c["input_size"],
        kernel_size=c["kernel_size"],
        stride=c["stride"],
        padding=c["padding"],
        dilation=c["dilation"],
    )


#: the parameters :func:`check_keeps_count` asks about, in the order of the book
GROW = ("input_size", "kernel_size", "stride", "padding", "dilation")


def _blocks_1d(c):
    """The number of blocks ``F.unfold`` returns along one dimension (an image of
    height 1), or ``0`` where the block does not fit (torch refuses)."""
    x = torch.zeros(1, 1, 1, c["input_size"])
    try:
        cols = F.unfold(
            x, (1, c["kernel_size"]), (1, c["dilation"]), (0, c["padding"]), (1, c["stride"])
        )
    except RuntimeError:
        return 0
    return cols.shape[-1]


def _keeps_count_cases(rng, count):
    """1-D cases ``dict(input_size, kernel_size, stride, padding, dilation)`` where a
    block fits, from simple to hard (fewest parameters off their defaults first),
    chosen so that every parameter is, in some case, one whose growth keeps the
    count and, in another, one whose growth changes it."""
    grid = [
        dict(input_size=n, kernel_size=k, stride=s, padding=p, dilation=d)
        for n in range(1, 17)
        for k in range(1, 6)
        for s in range(1, 5)
        for p in range(5)
        for d in range(1, 5)
        if d * (k - 1) + 1 <= n + 2 * p and (k > 1 or d == 1)
    ]
    rng.shuffle(grid)
    picked, seen = [], set()
    for c in grid:  # first a case for each (parameter, kept or changed) pair
        kept = _kept(c)
        new = {(g, g in kept) for g in GROW} - seen
        if new:
            picked.append(c)
            seen |= new
    picked += [c for c in grid if c not in picked][: max(0, count - len(picked))]
    first = dict(input_size=5, kernel_size=3, stride=1, padding=0, dilation=1)
    picked = [first] + [c for c in picked if c != first]

    def changed(c):  # how many parameters are off their defaults
        return sum(c[k] != _DEFAULTS[k] for k in ("stride", "padding", "dilation"))

    return sorted(picked, key=changed)


def _kept(c):
    """The parameters whose growth by one leaves the count of ``c`` unchanged (torch)."""
    before = _blocks_1d(c)
    return {g for g in GROW if _blocks_1d({**c, g: c[g] + 1}) == before}


def check_keeps_count(fn, cases=30, seed=0) -> CheckReport:
    """Check ``fn(input_size, kernel_size, stride, padding, dilation) -> set`` (1-D ints).

    The answer is the set of names, among ``input_size``, ``kernel_size``,
    ``stride``, ``padding`` and ``dilation``, whose growth by one leaves the
    number of blocks ``out = floor((in + 2p - d(k-1) - 1)/s) + 1`` unchanged
    (a growth after which no block fits changes it). With ``in + 2p - d(k-1) - 1
    = q*s + r``: ``in`` keeps it iff ``r + 1 < s``, ``padding`` iff ``r + 2 < s``,
    ``kernel_size`` iff ``r >= d``, ``dilation`` iff ``r >= k - 1`` and
    ``stride`` iff ``r >= q``. The expected set is counted with ``F.unfold``;
    an answer that calls ``F.unfold`` fails. Chapter 1.
    """
    return _value_checker(
        "keeps_count",
        fn,
        _keeps_count_cases(random.Random(seed), cases),
        _kept,
        lambda c, v: "the parameters whose growth by one leaves F.unfold's count unchanged",
        forbid=_ARITHMETIC_UNFOLD,
    )


def _unfold_cases(rng, cases, dtype=torch.float64):
    """``((x,), kwargs)`` for unfold, simple to hard; the first ``x`` has one image
    and one channel."""
    out = []
    for i, c in enumerate(_sliding_cases(rng, cases)):
        N, C = (1, 1) if i == 0 else (rng.randint(1, 2), rng.randint(1, 3))
        x = torch.randn(
            N,
            C,
            *c["input_size"],
            dtype=dtype,
            generator=torch.Generator().manual_seed(rng.randint(0, 10**6)),
        )
        kw = dict(
            kernel_size=c["kernel_size"],
            dilation=c["dilation"],
            padding=c["padding"],
            stride=c["stride"],
        )
        out.append(((x,), kw))
    return out


def check_unfold(fn, cases=20, seed=0, grad=True) -> CheckReport:
    """Check ``fn(x, kernel_size, dilation, padding, stride)`` against ``F.unfold``.

    ``x`` is ``(N, C, H, W)`` float64; parameters are 2-tuples. With ``grad``,
    the gradient with respect to ``x`` is compared too, and a result that
    carries none fails. An answer that calls ``F.unfold`` fails. Chapter 1.
    """
    return _tensor_checker(
        "unfold",
        fn,
        _unfold_cases(random.Random(seed), cases),
        F.unfold,
        grad=grad,
        forbid=_NO_UNFOLD,
    )


def check_parameters_for_L(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(input_size, L) -> dict`` of 2-D ``kernel_size, stride, padding, dilation``.

    Any answer is right if ``F.unfold`` with those parameters really gives ``L``
    blocks from an input of ``input_size``. The cases with ``L`` no more than
    the width come first. Chapter 1.
    """
    built = []
    for c in _sliding_cases(random.Random(seed), cases):
        L = shapes.num_blocks(
            c["input_size"],
            c["kernel_size"],
            dilation=c["dilation"],
            padding=c["padding"],
            stride=c["stride"],
        )
        built.append(dict(input_size=c["input_size"], L=L))
    built.sort(key=lambda a: a["L"] > a["input_size"][1])  # stable: simple first

    def about(a):
        W = a["input_size"][1]
        return f"L={a['L']}, {'more than' if a['L'] > W else 'no more than'} the width {W}"

    report = CheckReport("parameters_for_L", len(built))
    for args in built:
        L = args["L"]
        where = _where(report, args, _fmt(args), about(args))
        ok, got = _call(fn, report, (), args, where)
        if not ok:
            return report
        if not isinstance(got, dict) or not {"kernel_size", "stride", "padding", "dilation"} <= set(
            got
        ):
            report.failure = (
                f"{where}\n  expected a dict with kernel_size, stride, padding "
                f"and dilation, got {got!r}"
            )
            return report
        x = torch.zeros(1, 1, *args["input_size"])
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


# --------------------------------------------------------------------------
# chapter 2
# --------------------------------------------------------------------------
def check_fold(fn, cases=20, seed=0, grad=True) -> CheckReport:
    """Check ``fn(cols, output_size, kernel_size, dilation, padding, stride)`` against
    ``F.fold``: values and (with ``grad``) the gradient with respect to ``cols``.
    An answer that calls ``F.fold`` fails (``F.unfold`` is allowed). Chapter 2.
    """
    built = []
    for (x,), kw in _unfold_cases(random.Random(seed), cases):
        cols = F.unfold(x, **kw)
        built.append(((cols,), dict(output_size=tuple(x.shape[2:]), **kw)))
    return _tensor_checker(
        "fold", fn, built, F.fold, grad=grad, names=("cols",), forbid=_NO_FOLD, allow=("unfold",)
    )


def _divisor(output_size, kernel_size, dilation, padding, stride):
    ones = torch.ones(1, 1, *output_size, dtype=torch.float64)
    cols = F.unfold(ones, kernel_size, dilation, padding, stride)
    return F.fold(cols, output_size, kernel_size, dilation, padding, stride)[0, 0]


def check_divisor(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(output_size, kernel_size, dilation, padding, stride)`` returns the
    ``(H, W)`` divisor: how many blocks cover each pixel. An answer that calls
    ``F.fold`` or ``F.unfold`` fails. Chapter 2.
    """
    built = []
    for c in _sliding_cases(random.Random(seed), cases):
        kw = dict(
            output_size=c["input_size"],
            kernel_size=c["kernel_size"],
            dilation=c["dilation"],
            padding=c["padding"],
            stride=c["stride"],
        )
        built.append(((), kw))
    return _tensor_checker("divisor", fn, built, _divisor, grad=False, forbid=_COUNT_BLOCKS)


def check_invertible(fn, cases=40, seed=0) -> CheckReport:
    """Check ``fn(input_size, kernel_size, stride, padding, dilation) -> bool``: can
    ``x`` be recovered from ``unfold(x)`` by ``fold`` and a division? (True exactly
    when every pixel is covered by some block.) An answer that runs ``F.unfold``
    or ``F.fold`` fails. Chapter 2.
    """

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
        [_unfold_args(c) for c in _sliding_cases(random.Random(seed), cases)],
        covered,
        lambda c, v: f"the divisor {'has no' if v else 'has'} zeros",
        forbid=_ARITHMETIC_DIVISOR,
    )


def _weighted_average(cols, weights, output_size, kernel_size, dilation, padding, stride):
    """The image ``x`` that minimises ``sum_l weights[n, l] * ||unfold(x)[n, :, l] -
    cols[n, :, l]||^2``, with 0 on the pixels no block of positive weight reads.

    Normal equations: ``U^T W U x = U^T W cols``; ``U^T W U`` is diagonal, its
    diagonal is ``fold`` of the weights spread over each block's ``K`` entries, so
    ``x = fold(cols * w) / fold(w)`` where ``fold(w) > 0``. Chapter 2.
    """
    params = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    N, _, L = cols.shape
    K = kernel_size[0] * kernel_size[1]
    w = weights[:, None, :]  # (N, 1, L)
    top = F.fold(cols * w, output_size, **params)  # (N, C, H, W)
    bottom = F.fold(w.expand(N, K, L), output_size, **params)  # (N, 1, H, W)
    return top / torch.where(bottom > 0, bottom, torch.ones_like(bottom))


def check_weighted_average(fn, cases=20, seed=0, grad=False) -> CheckReport:
    """Check ``fn(cols, weights, output_size, kernel_size, dilation, padding, stride)``:
    the least-squares image of columns ``cols`` ``(N, C*K, L)`` whose blocks have
    the weights ``weights`` ``(N, L)`` (0 on the pixels that no block of positive
    weight reads). The first cases weigh every block 1 (the plain average of
    chapter 2's least-squares section), then weights in (0, 1], then weights
    with zeros. ``F.fold`` and ``F.unfold`` are allowed. Chapter 2.
    """
    rng = random.Random(seed)
    built = []
    for i, c in enumerate(_sliding_cases(rng, cases)):
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        N, C = (1, 1) if i == 0 else (rng.randint(1, 2), rng.randint(1, 3))
        kw = dict(
            output_size=c["input_size"],
            kernel_size=c["kernel_size"],
            dilation=c["dilation"],
            padding=c["padding"],
            stride=c["stride"],
        )
        K = c["kernel_size"][0] * c["kernel_size"][1]
        L = shapes.num_blocks(
            c["input_size"],
            c["kernel_size"],
            dilation=c["dilation"],
            padding=c["padding"],
            stride=c["stride"],
        )
        cols = torch.randn(N, C * K, L, dtype=torch.float64, generator=gen)
        if i < 2:
            weights = torch.ones(N, L, dtype=torch.float64)
        else:
            weights = 0.1 + 0.9 * torch.rand(N, L, dtype=torch.float64, generator=gen)
            if i >= 6:  # some blocks count for nothing
                weights[torch.rand(N, L, generator=gen) < 0.3] = 0
        built.append(((cols, weights), kw))
    return _tensor_checker(
        "weighted_average",
        fn,
        built,
        _weighted_average,
        grad=grad,
        names=("cols", "weights"),
    )


# --------------------------------------------------------------------------
# chapter 3
# --------------------------------------------------------------------------
def _conv_cases(rng, count, knobs, *, batch=(1, 2)):
    """``((x, weight, bias), kwargs)`` of ``F.conv2d`` from simple to hard (float64;
    ``kwargs``: ``stride``, ``padding``, ``dilation`` pairs and ``groups``), as
    :func:`_sliding_cases` changes ``knobs``. The first case has one image and
    ``groups`` channels in and out; the others ``groups`` times 1 or 2 channels
    and a batch of ``batch`` (inclusive) images."""
    built = []
    for i, c in enumerate(_sliding_cases(rng, count, knobs)):
        g = c["groups"]
        C_in, C_out = (g, g) if i == 0 else (g * rng.randint(1, 2), g * rng.randint(1, 2))
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        N = 1 if i == 0 else rng.randint(*batch)
        x = torch.randn(N, C_in, *c["input_size"], dtype=torch.float64, generator=gen)
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
    return built


def check_conv2d(fn, cases=20, seed=0, groups=False, grad=True) -> CheckReport:
    """Check ``fn(x, weight, bias, stride, padding, dilation, groups)`` against ``F.conv2d``:
    values and (with ``grad``) the gradients with respect to ``x``, ``weight`` and
    ``bias``. With ``groups=True`` the cases include grouped convolutions. An
    answer that runs a torch convolution fails (``F.unfold`` is allowed).
    Chapter 3.
    """
    knobs = ("stride", "padding", "dilation") + (("groups",) if groups else ())
    return _tensor_checker(
        "conv2d" + (" with groups" if groups else ""),
        fn,
        _conv_cases(random.Random(seed), cases, knobs),
        F.conv2d,
        grad=grad,
        names=("x", "weight", "bias"),
        forbid=_NO_CONV,
        allow=("conv_output_shape",),
    )


def check_conv_module(cls, cases=12, seed=0) -> CheckReport:
    """Check a module class ``cls(in_channels, out_channels, kernel_size, stride, padding,
    dilation)`` without bias against ``nn.Conv2d(..., bias=False)`` with the same weight.

    The weight is copied into ``module.weight``. A module that runs a torch
    convolution fails. Chapter 3 (the forum's ``MyConv2d``).
    """
    rng = random.Random(seed)
    built = _sliding_cases(rng, cases, pairs=False)
    report = CheckReport(getattr(cls, "__name__", "module"), len(built))
    for i, c in enumerate(built):
        k, s, p, d = (c["kernel_size"][0], c["stride"][0], c["padding"][0], c["dilation"][0])
        H = max(c["input_size"][0], d * (k - 1) + 1)
        C_in, C_out = (1, 1) if i == 0 else (rng.randint(1, 3), rng.randint(1, 3))
        kwargs = dict(
            in_channels=C_in, out_channels=C_out, kernel_size=k, stride=s, padding=p, dilation=d
        )
        reference = torch.nn.Conv2d(**kwargs, bias=False).double()
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        x = torch.randn(2, C_in, H, H + 1, dtype=torch.float64, generator=gen)
        where = _where(report, kwargs, f"{_fmt(kwargs)}; then x of shape {tuple(x.shape)}")
        ok, module = _call(cls, report, (), kwargs, where, _NO_CONV)
        if not ok:
            return report
        try:
            module.weight.data = reference.weight.data.clone()
            module = module.double()
        except Exception as err:
            report.failure = f"{where}\n  could not set module.weight: {type(err).__name__}: {err}"
            return report
        ok, got = _call(module, report, (x,), {}, where, _NO_CONV, what="forward")
        if not ok:
            return report
        with torch.no_grad():
            expected = reference(x)
        if not _compare(report, got, expected, where):
            return report
        report.passed += 1
    return report


def _size_cases(rng, cases, **kw):
    """One-dimensional conv arguments ``dict(size, kernel_size, stride, padding,
    dilation)``, simple to hard, whose block fits the input."""
    return [
        dict(
            size=c["input_size"][0],
            kernel_size=c["kernel_size"][0],
            stride=c["stride"][0],
            padding=c["padding"][0],
            dilation=c["dilation"][0],
        )
        for c in _sliding_cases(rng, cases, pairs=False, max_size=30, **kw)
    ]


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
    against the size ``F.conv1d`` really produces; an answer that runs a
    convolution to find it fails. Chapter 3.
    """
    return _value_checker(
        "conv_output_size",
        fn,
        _size_cases(random.Random(seed), cases),
        _conv1d_size,
        lambda c, v: "what F.conv1d returns",
        forbid=_ARITHMETIC_CONV,
    )


def check_output_shape(fn, cases=30, seed=0) -> CheckReport:
    """Check ``fn(x_shape, weight_shape, stride, padding, dilation, groups) -> tuple``,
    the shape of ``F.conv2d``'s output (``(N, C_out, H_out, W_out)``), and that it raises
    ``ValueError`` when torch refuses the shapes (channels that do not match ``groups``).
    The first illegal case follows the simple ones; then every fifth case is
    illegal, in turn: ``C_in`` not divisible by ``groups``; only ``C_out`` not
    divisible (``C_in`` is); both divisible but ``weight_shape[1] * groups != C_in``.
    So an answer that checks ``C_in`` alone fails. An answer that runs a convolution
    fails. Chapter 3.
    """
    rng = random.Random(seed)
    knobs = ("stride", "padding", "dilation", "groups")
    built = _sliding_cases(rng, cases, knobs, max_size=12)
    simple = 2 + 2 * len(knobs)
    if len(built) > simple:  # the first illegal case changes groups only
        built[simple] = dict(built[1], groups=rng.choice([2, 3]))
    report = CheckReport("output_shape", len(built))
    for case, c in enumerate(built):
        illegal = case >= simple and (case - simple) % 5 == 0
        kind = ("C_in", "C_out", "weight")[(case - simple) // 5 % 3] if illegal else ""
        g = c["groups"]
        if illegal and g == 1:
            g = rng.choice([2, 3])
        C_in = g * (1 if case == 0 else rng.randint(1, 3)) + (kind == "C_in")
        C_out = g * (1 if case == 0 else rng.randint(1, 3)) + (kind == "C_out")
        per_group = max(C_in // g, 1) + (kind == "weight")
        args = dict(
            x_shape=(1 if case == 0 else rng.randint(1, 4), C_in, *c["input_size"]),
            weight_shape=(C_out, per_group, *c["kernel_size"]),
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
        about = (
            _describe(args)
            + {
                "": "",
                "C_in": f"; C_in={C_in}, which groups={g} cannot split",
                "C_out": f"; C_out={C_out}, which groups={g} cannot split (C_in={C_in} can)",
                "weight": f"; weight_shape[1]={per_group}, but C_in / groups = {C_in // g}",
            }[kind]
        )
        where = _where(report, args, _fmt(args), about)

        def run(fn=fn, args=args):
            try:
                return fn(**args)
            except ValueError:
                return ValueError

        ok, got = _call(run, report, (), {}, where, _ARITHMETIC_CONV)
        if not ok:
            return report
        if expected is ValueError or got is ValueError:
            mismatch = got is not expected
        else:
            try:
                mismatch = tuple(got) != expected
            except TypeError:
                mismatch = True
        if mismatch:
            shown = "a ValueError" if expected is ValueError else expected
            report.failure = (
                f"{where}\n  expected {shown}, "
                f"got {'a ValueError' if got is ValueError else repr(got)}"
            )
            return report
        report.passed += 1
    return report


# --------------------------------------------------------------------------
# chapter 4
# --------------------------------------------------------------------------
TRANSPOSE_LEVELS = ("stride1", "stride", "all")


def _tconv_cases(rng, count, knobs, *, output_padding):
    """``((x, weight, bias), kwargs)`` of ``F.conv_transpose2d`` from simple to hard
    (float64; ``kwargs``: ``stride``, ``padding``, ``output_padding``,
    ``dilation`` pairs and ``groups``), as :func:`_plans` changes ``knobs`` (groups
    up to 2; with ``output_padding``, the cases that need one), each with a kernel
    and an input size whose output has a pixel."""
    plans, simple = _plans(
        rng, count, knobs, ranges=dict(groups=(1, 2)), output_padding=output_padding
    )
    built = []
    for i, plan in enumerate(plans):
        s, p, op, d, g = (
            plan[n] for n in ("stride", "padding", "output_padding", "dilation", "groups")
        )
        while True:  # a kernel and an input size whose output has a pixel
            k = [rng.randint(2 if (i < simple or d[j] > 1) else 1, 4) for j in range(2)]
            size = [rng.randint(2 if s[j] > 1 else 1, 4 if i < simple else 6) for j in range(2)]
            if i == 0:
                k[1], size[1] = k[0], size[0]
            if all(v >= 1 for v in shapes.transposed_sizes(size, k, s, p, op, d)):
                break
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        C_in, C_out = (g, g) if i == 0 else (g * rng.randint(1, 2), g * rng.randint(1, 2))
        N = 1 if i == 0 else rng.randint(1, 2)
        x = torch.randn(N, C_in, *size, dtype=torch.float64, generator=gen)
        weight = torch.randn(C_in, C_out // g, *k, dtype=torch.float64, generator=gen)
        bias = torch.randn(C_out, dtype=torch.float64, generator=gen)
        built.append(
            ((x, weight, bias), dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d))
        )
    return built


def check_conv_transpose2d(fn, cases=20, seed=0, level="all", grad=True) -> CheckReport:
    """Check ``fn(x, weight, bias, stride, padding, output_padding, groups, dilation)``
    against ``F.conv_transpose2d``: values and (with ``grad``) the gradients with
    respect to ``x``, ``weight`` and ``bias``.

    ``level``: ``"stride1"`` (stride 1, padding 0, dilation 1, one group: the
    forum's case), ``"stride"`` (any stride, still no padding, dilation or
    groups) or ``"all"`` (every parameter, groups included; the cases with an
    ``output_padding`` come after each parameter alone). An answer that runs a
    torch convolution (transposed or not) fails. Chapter 4.
    """
    if level not in TRANSPOSE_LEVELS:
        raise ValueError(f"level={level!r} is not a level: use one of {TRANSPOSE_LEVELS}")
    knobs = {
        "stride1": (),
        "stride": ("stride",),
        "all": ("stride", "padding", "dilation", "groups"),
    }[level]
    return _tensor_checker(
        f"conv_transpose2d ({level})",
        fn,
        _tconv_cases(random.Random(seed), cases, knobs, output_padding=level == "all"),
        F.conv_transpose2d,
        grad=grad,
        names=("x", "weight", "bias"),
        forbid=_NO_CONV,
    )


def subpixel_macs(input_size, kernel_size, stride) -> int:
    """Multiply-adds of the sub-pixel transposed convolution, per pair of input and
    output channels and per image: ``prod over dims of sum_a (in - 1 + k_a) * k_a``
    with ``k_a = ceil((k - a) / s)`` the size of phase ``a``'s sub-kernel (no
    padding, dilation 1). The gather over a zero-stuffed input does
    ``prod of out * k``. Chapter 4, ``eq-subpixel-macs``.
    """
    total = 1
    for n, k, s in zip(input_size, kernel_size, stride):
        total *= sum((n - 1 + ka) * ka for ka in (len(range(a, k, s)) for a in range(s)))
    return total


def _count_macs(fn, *args, **kwargs):
    """Multiply-adds of the matrix products and convolutions ``fn(*args, **kwargs)`` runs."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return counter.get_total_flops() // 2


#: (N, C_in, C_out, input size, kernel size, stride) of the count cases of check_subpixel
_SUBPIXEL_COUNT_CASES = (
    (1, 1, 1, (5, 5), (4, 4), (2, 2)),
    (2, 2, 3, (6, 4), (3, 5), (3, 2)),
    (1, 3, 2, (7, 5), (2, 4), (4, 3)),
)


def check_subpixel(fn, cases=20, seed=0, grad=True) -> CheckReport:
    """Check ``fn(x, weight, bias, stride, padding, output_padding, groups, dilation)``,
    a transposed convolution (any stride; no padding, dilation 1, one group) by the
    sub-pixel decomposition: values and gradients as :func:`check_conv_transpose2d`
    at level ``"stride"`` (no torch convolution), then its multiply-adds, counted
    by ``FlopCounterMode`` over its matrix products: at most
    :func:`subpixel_macs` times ``N * C_in * C_out``. An answer that inserts
    zeros (the gather) does about ``stride**2`` times more and fails. Chapter 4.
    """
    inner = check_conv_transpose2d(fn, cases, seed, level="stride", grad=grad)
    report = CheckReport(
        "sub-pixel conv_transpose2d", inner.total + len(_SUBPIXEL_COUNT_CASES), inner.passed
    )
    report.failure, report.not_implemented = inner.failure, inner.not_implemented
    if not inner:
        return report
    for N, C_in, C_out, size, k, s in _SUBPIXEL_COUNT_CASES:
        gen = torch.Generator().manual_seed(report.passed)
        x = torch.randn(N, C_in, *size, dtype=torch.float64, generator=gen)
        weight = torch.randn(C_in, C_out, *k, dtype=torch.float64, generator=gen)
        bias = torch.randn(C_out, dtype=torch.float64, generator=gen)
        where = _where(
            report,
            dict(stride=s),
            f"x of shape {tuple(x.shape)}, weight of shape {tuple(weight.shape)}, stride={s}",
            about="counting multiply-adds",
        )
        try:
            kw = dict(stride=s, padding=(0, 0), output_padding=(0, 0), groups=1)
            macs = _count_macs(fn, x, weight, bias, **kw, dilation=(1, 1))
        except Exception as err:
            report.failure = f"{where}\n  it raised {type(err).__name__}: {err}"
            return report
        bound = N * C_in * C_out * subpixel_macs(size, k, s)
        out = [(n - 1) * si + ki for n, ki, si in zip(size, k, s)]
        gather = N * C_in * C_out * out[0] * out[1] * k[0] * k[1]
        if macs > bound:
            report.failure = (
                f"{where}\n  the values are right, but it does {macs} multiply-adds "
                f"where the sub-pixel way needs {bound} (the gather over a zero-stuffed "
                f"input does {gather}): insert no zeros; one stride-1 transposed "
                f"convolution per phase, with that phase's taps"
            )
            return report
        report.passed += 1
    return report


def check_tconv_input_grad(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(grad_y, weight, stride, padding, output_padding, dilation, groups)``,
    the gradient of ``conv_transpose2d`` with respect to its input, against autograd.

    ``weight`` is the transposed convolution's ``(C_in, C_out/groups, kH, kW)``;
    the answer is one ``F.conv2d`` with the same weight, stride, padding,
    dilation and groups, whose first ``H x W`` rows and columns are the
    gradient: input row ``i`` gets ``sum_j grad_y[i*s - p + j*dil] * w[j]``,
    and the convolution returns ``H + output_padding // stride`` rows (the
    extra ones exist only when ``stride <= output_padding < dilation``).
    Cases from simple to hard, each parameter alone, with an ``output_padding``
    below the stride whenever the stride allows one, and cases with
    ``stride <= output_padding < dilation`` (the last one: a 4 x 4 input,
    ``kernel_size=3, stride=1, dilation=2, output_padding=1``). An answer that
    asks torch for a convolution's gradient (autograd, ``torch.nn.grad``)
    fails. Chapter 4.
    """
    rng = random.Random(seed)
    knobs = ("stride", "padding", "dilation", "groups")
    built = _sliding_cases(rng, cases - 1, knobs, ranges=dict(groups=(1, 2)))
    # an output_padding of at least the stride, below the dilation
    last = dict(input_size=(8, 8), kernel_size=(3, 3), stride=(1, 1), padding=(0, 0))
    built.append(dict(last, dilation=(2, 2), groups=1, output_padding=(1, 1)))
    report = CheckReport("tconv_input_grad", len(built))
    for i, c in enumerate(built):
        g, s, p, d = c["groups"], c["stride"], c["padding"], c["dilation"]
        k = c["kernel_size"]
        # an output_padding below the stride, at least what keeps the output nonempty:
        # the output is n - a + op with a = (n + 2p - d(k-1) - 1) mod s; where the
        # dilation is larger than the stride, every other case one in [s, d)
        op = c.get("output_padding") or tuple(
            rng.randint(si, di - 1)
            if di > si and i % 2
            else max(rng.randint(0, si - 1), (n + 2 * pi - di * (ki - 1) - 1) % si - n + 1)
            for n, ki, si, pi, di in zip(c["input_size"], k, s, p, d)
        )
        C_in, C_out = (g, g) if i == 0 else (g * rng.randint(1, 2), g * rng.randint(1, 2))
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        m = shapes.conv_output_shape(
            c["input_size"], c["kernel_size"], stride=s, padding=p, dilation=d
        )
        x = torch.randn(
            1 if i == 0 else rng.randint(1, 2),
            C_in,
            *m,
            dtype=torch.float64,
            generator=gen,
            requires_grad=True,
        )
        weight = torch.randn(
            C_in, C_out // g, *c["kernel_size"], dtype=torch.float64, generator=gen
        )
        kw = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g)
        y = F.conv_transpose2d(x, weight, **kw)
        grad_y = torch.randn(y.shape, dtype=torch.float64, generator=gen)
        (expected,) = torch.autograd.grad(y, x, grad_y)
        where = _where(
            report,
            {k: v for k, v in kw.items() if k != "output_padding"},
            f"grad_y of shape {tuple(grad_y.shape)}, weight of shape "
            f"{tuple(weight.shape)}, {_fmt(kw)}",
        )
        ok, got = _call(
            fn, report, (), dict(grad_y=grad_y, weight=weight, **kw), where, _NO_CONV_GRAD_T
        )
        if not ok:
            return report
        if not _compare(report, got, expected, where):
            return report
        report.passed += 1
    return report


_NO_CONV_GRAD_T = (("convolution_backward",), "get it from one F.conv2d instead.")


def _phase_pattern(weight, stride, padding, n=12):
    """torch's answer: the values of ``conv_transpose2d(ones)`` away from the border,
    one per output phase ``(o_h mod s, o_w mod s)``."""
    s, p = stride, padding
    y = F.conv_transpose2d(
        torch.ones(1, 1, n, n, dtype=weight.dtype), weight[None, None], stride=s, padding=p
    )[0, 0]
    firsts = []
    for k, size in zip(weight.shape, y.shape):  # per dim, each phase's first inner output
        inner = [o for o in range(size) if k - 1 <= o + p <= (n - 1) * s]
        firsts.append([next(o for o in inner if o % s == a) for a in range(s)])
    return y[firsts[0]][:, firsts[1]]


def check_phase_pattern(fn, cases=16, seed=0) -> CheckReport:
    """Check ``fn(weight, stride, padding)`` (``weight`` of shape ``(kH, kW)``, ints
    ``stride`` and ``padding``): the ``stride x stride`` tensor whose entry ``(a, b)``
    is what ``conv_transpose2d`` of a constant input of ones gives, away from the
    border, at the outputs with ``o_h mod s = a`` and ``o_w mod s = b``: the sum of
    the taps ``weight[(a + p) % s::s, (b + p) % s::s]`` (``eq-phase-sum``). Cases
    from simple to hard (stride 1, stride 2, then padding, then kernels smaller
    than the stride). An answer that runs a convolution fails. Chapter 4.
    """
    fixed = [
        ((2, 2), 1, 0),
        ((4, 4), 2, 0),
        ((3, 3), 2, 0),
        ((4, 4), 2, 1),
        ((5, 3), 3, 1),
        ((2, 5), 3, 2),
        ((1, 1), 2, 0),
        ((4, 2), 4, 3),
    ]
    rng = random.Random(seed)
    while len(fixed) < cases:
        fixed.append(((rng.randint(1, 5), rng.randint(1, 5)), rng.randint(1, 4), rng.randint(0, 3)))
    report = CheckReport("phase_pattern", len(fixed))
    for i, (k, s, p) in enumerate(fixed):
        gen = torch.Generator().manual_seed(seed * 1000 + i)
        weight = torch.randn(*k, dtype=torch.float64, generator=gen)
        expected = _phase_pattern(weight, s, p)
        case = dict(stride=s, padding=p)
        where = _where(report, case, f"weight of shape {tuple(k)}, stride={s}, padding={p}")
        ok, got = _call(
            fn, report, (), dict(weight=weight, stride=s, padding=p), where, _ARITHMETIC_PHASES
        )
        if not ok:
            return report
        if not _compare(report, got, expected, where):
            return report
        report.passed += 1
    return report


_ARITHMETIC_PHASES = (("convolution",), "add up each phase's taps by slicing the weight.")


def _output_sizes(L, kernel_size, dilation, padding, stride):
    """Every ``(H, W)`` that ``F.fold`` accepts for ``L`` columns: per dimension the
    block count of ``n`` pixels is ``(n + 2p - d(k-1) - 1) // s + 1`` (for
    ``n + 2p >= d(k-1) + 1``), and fold checks only that the two counts multiply
    to ``L``. Counted by brute force over every size up to ``L*s + d(k-1) + 1``."""
    per_dim = []
    for k, d, p, s in zip(kernel_size, dilation, padding, stride):
        span = d * (k - 1) + 1
        counts = {}
        for n in range(1, L * s + span + 1):
            if n + 2 * p >= span:
                counts.setdefault((n + 2 * p - span) // s + 1, []).append(n)
        per_dim.append(counts)
    return {
        (H, W)
        for Lh, Hs in per_dim[0].items()
        if L % Lh == 0
        for H in Hs
        for W in per_dim[1].get(L // Lh, [])
    }


def check_output_sizes(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(L, kernel_size, dilation, padding, stride)`` returns EVERY
    ``output_size`` ``(H, W)`` that ``fold`` accepts for ``L`` columns (a set, or
    any collection of pairs), and nothing else. ``fold`` checks only the
    product: ``(H, W)`` fits when ``blocks(H) * blocks(W) == L``, with
    ``blocks(n) = (n + 2p - d(k-1) - 1) // s + 1`` per dimension; so every
    factorization ``L = L_h * L_w`` counts, and each block count comes from
    ``s`` consecutive sizes (the floor), those of at least 1. An answer that
    runs ``F.fold`` or ``F.unfold`` fails. Chapter 2.
    """
    built = []
    for c in _sliding_cases(random.Random(seed), cases):
        k, d, p, s = c["kernel_size"], c["dilation"], c["padding"], c["stride"]
        L = shapes.num_blocks(c["input_size"], k, dilation=d, padding=p, stride=s)
        built.append(dict(L=L, kernel_size=k, dilation=d, padding=p, stride=s))
    report = CheckReport("output_sizes", len(built))
    for args in built:
        want = _output_sizes(**args)
        where = _where(report, args, _fmt(args))
        ok, got = _call(fn, report, (), args, where, _ARITHMETIC_DIVISOR)
        if not ok:
            return report
        try:
            got_set = {(int(h), int(w)) for h, w in got}
        except (TypeError, ValueError):
            report.failure = (
                f"{where}\n  expected a collection of (H, W) pairs, got {_short_repr(got)}"
            )
            return report
        if got_set != want:
            missing, extra = sorted(want - got_set), sorted(got_set - want)
            lines = [
                f"{where}",
                f"  fold accepts {len(want)} output sizes, you gave {len(got_set)}",
            ]
            if missing:
                lines.append(
                    f"  missing (fold accepts them): {missing[:6]}"
                    + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
                )
            if extra:
                lines.append(
                    f"  extra (fold refuses them): {extra[:6]}"
                    + (f" and {len(extra) - 6} more" if len(extra) > 6 else "")
                )
            report.failure = "\n".join(lines)
            return report
        report.passed += 1
    return report


def _short_repr(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------
# chapter 5
# --------------------------------------------------------------------------
#: what the backward exercises may call of convlab: the chapter's tools, no convolution
_BACKWARD_OFFERS = ("unfold", "fold", "conv_output_shape")


def _no_conv_grad(advice):
    """Forbid torch's convolutions, forward and backward: a backward exercise that asks
    autograd or ``torch.nn.grad`` for the gradient is named as such first."""
    return (("convolution_backward", "convolution"), advice)


_NO_CONV_INPUT_GRAD = _no_conv_grad("fold the weight's transpose times grad_y instead.")
_NO_CONV_WEIGHT_GRAD = _no_conv_grad(
    "multiply grad_y by the unfolded x, transposed, and sum over the batch."
)
_NO_CONV_BIAS_GRAD = _no_conv_grad("sum grad_y over the images and the positions.")
_NO_CONV_FUNCTION = _no_conv_grad(
    "write the forward with F.unfold and a product, the backward with F.fold and F.unfold."
)
_NO_CONV_PER_SAMPLE = _no_conv_grad(
    "multiply each image's grad_y by its own unfolded x, transposed (one einsum)."
)
_NO_CONV_TCONV_WEIGHT = _no_conv_grad("unfold grad_y and multiply x by it, transposed.")


def _with_grads(rng, built, forward):
    """For each case ``((x, weight, bias), kwargs)``: ``y = forward(x, weight, **kwargs)``,
    a random ``grad_y`` of its shape, and torch's gradients of ``sum(y * grad_y)``:
    ``(x, weight, kwargs, grad_y, grad_x, grad_weight)``."""
    out = []
    for (x, weight, _), kw in built:
        x, weight = x.detach().requires_grad_(True), weight.detach().requires_grad_(True)
        y = forward(x, weight, **kw)
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        grad_y = torch.randn(y.shape, dtype=y.dtype, generator=gen)
        grad_x, grad_weight = torch.autograd.grad(y, (x, weight), grad_y)
        out.append((x.detach(), weight.detach(), kw, grad_y, grad_x, grad_weight))
    return out


def _expected_checker(name, fn, cases, forbid, allow=_BACKWARD_OFFERS):
    """Shared loop: ``fn(**args)`` against torch's ``expected`` for every case
    ``(args, expected, note)``; ``note``, if any, is a line the report adds
    under the call (what is special about the case)."""
    report = CheckReport(name, len(cases))
    for args, expected, note in cases:
        where = _where(report, args, _fmt(args)) + (f"\n  {note}" if note else "")
        ok, got = _call(fn, report, (), args, where, forbid, allow=allow)
        if not ok or not _compare(report, got, expected, where):
            return report
        report.passed += 1
    return report


_CONV_KNOBS = ("stride", "padding", "dilation", "groups")


def _unread(input_size, kernel_size, stride, padding, dilation):
    """What the floor leaves out of every block, in words (``"no block reads the
    last row of x (gradient 0)"``), or ``""``: per dim, ``r = (n + 2p -
    dil(k-1) - 1) mod s`` padded positions follow the last block, the last
    ``max(0, r - p)`` of them x's."""
    parts = []
    for n, k, s, p, d, (one, many) in zip(
        input_size, kernel_size, stride, padding, dilation, (("row", "rows"), ("column", "columns"))
    ):
        m = max(0, (n + 2 * p - d * (k - 1) - 1) % s - p)
        if m:
            parts.append(f"the last {one}" if m == 1 else f"the last {m} {many}")
    return f"no block reads {' and '.join(parts)} of x (gradient 0)" if parts else ""


def check_conv_input_grad(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(grad_y, weight, input_size, stride, padding, dilation, groups)``, the
    gradient of ``F.conv2d(x, weight, stride=..., padding=..., dilation=...,
    groups=...)`` with respect to ``x``, against autograd.

    ``grad_y`` is ``(N, C_out, H_out, W_out)``, ``weight`` ``(C_out, C_in/groups,
    kH, kW)``, ``input_size`` the pair ``(H, W)``; ``stride``, ``padding`` and
    ``dilation`` are pairs, ``groups`` an int (as :func:`check_conv2d` passes
    them); the answer is ``(N, C_in, H, W)``. Per group ``g``: ``grad_x_g =
    fold(W_g^T @ grad_y_g)``, ``W_g`` the group's ``(C_out/groups, C_in/groups *
    kH * kW)`` rows of the weight, with the convolution's own parameters and
    ``output_size=input_size``: every tap sends its share of ``grad_y`` back to
    the pixel it read, and the rows the floor leaves out of every block get 0
    (``input_size`` cannot be read from ``grad_y``). Cases from simple to hard,
    each parameter alone, then combinations; in the simple cases with a stride,
    the last row or column of ``x`` is in no block (the case says so). An answer
    that runs a torch convolution, or asks torch for its gradient (autograd,
    ``torch.nn.grad``), fails. Taught in chapter 5.
    """
    rng = random.Random(seed)
    built = _conv_cases(rng, cases, _CONV_KNOBS)
    simple = 2 + 2 * len(_CONV_KNOBS)
    for i, ((x, weight, bias), kw) in enumerate(built[:simple]):
        # a stride alone: one more row or column than the blocks need, where needed
        size = list(x.shape[2:])
        for j, (k, s, p, d) in enumerate(
            zip(weight.shape[2:], kw["stride"], kw["padding"], kw["dilation"])
        ):
            if s > 1 and p == 0 and (size[j] - d * (k - 1) - 1) % s == 0:
                size[j] += 1
        built[i] = ((x.new_zeros(*x.shape[:2], *size), weight, bias), kw)
    checked = []
    for x, weight, kw, grad_y, grad_x, _ in _with_grads(rng, built, F.conv2d):
        size = tuple(x.shape[2:])
        args = dict(grad_y=grad_y, weight=weight, input_size=size, **kw)
        note = _unread(size, weight.shape[2:], kw["stride"], kw["padding"], kw["dilation"])
        checked.append((args, grad_x, note))
    return _expected_checker("conv_input_grad", fn, checked, _NO_CONV_INPUT_GRAD)


def check_conv_weight_grad(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(x, grad_y, kernel_size, stride, padding, dilation, groups)``, the
    gradient of ``F.conv2d(x, weight, stride=..., padding=..., dilation=...,
    groups=...)`` with respect to ``weight``, against autograd.

    ``x`` is ``(N, C_in, H, W)``, ``grad_y`` ``(N, C_out, H_out, W_out)``;
    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are pairs,
    ``groups`` an int (as :func:`check_conv2d` passes them); the answer is
    ``(C_out, C_in/groups, kH, kW)``. Per group ``g``: ``grad_W_g = sum over n
    of grad_y[n]_g @ unfold(x)[n]_g^T`` (``(C_out/groups, L)`` times ``(L,
    C_in/groups * kH * kW)``): each weight meets, at every position, the pixel
    it multiplied, and the images of the batch share the weight, so their
    gradients add up. Cases from simple to hard, each parameter alone, then
    combinations. An answer that runs a torch convolution, or asks torch for
    its gradient (autograd, ``torch.nn.grad``), fails. Taught in chapter 5.
    """
    rng = random.Random(seed)
    built = _conv_cases(rng, cases, _CONV_KNOBS)
    checked = []
    for x, weight, kw, grad_y, _, grad_weight in _with_grads(rng, built, F.conv2d):
        args = dict(x=x, grad_y=grad_y, kernel_size=tuple(weight.shape[2:]), **kw)
        checked.append((args, grad_weight, None))
    return _expected_checker("conv_weight_grad", fn, checked, _NO_CONV_WEIGHT_GRAD)


def check_conv_bias_grad(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(grad_y, groups)``, the gradient of ``F.conv2d(x, weight, bias,
    groups=groups)`` with respect to ``bias``, against autograd.

    ``grad_y`` is ``(N, C_out, H_out, W_out)``, ``groups`` an int; the answer
    is ``(C_out,)``: ``grad_b[o] = sum over n, i, j of grad_y[n, o, i, j]``, the
    sum over the images and the positions. ``groups`` does not change it (each
    output channel has its own bias, whichever group it belongs to): the point
    of the exercise. Cases from simple to hard: one image and one group, then
    a batch, then groups, then combinations (up to 3 images and 3 groups). An
    answer that runs a torch convolution, or asks torch for its gradient,
    fails. Taught in chapter 5.
    """
    rng = random.Random(seed)
    fixed = [(1, 1), (2, 1), (1, 2), (2, 3)]  # (images, groups), simple first
    checked = []
    for i in range(cases):
        N, g = fixed[i] if i < len(fixed) else (rng.randint(1, 3), rng.randint(1, 3))
        C_out = g * (1 if i == 0 else rng.randint(1, 3))
        size = (2, 2) if i == 0 else (rng.randint(1, 5), rng.randint(1, 5))
        gen = torch.Generator().manual_seed(rng.randint(0, 10**6))
        x = torch.randn(N, g, *size, dtype=torch.float64, generator=gen)
        weight = torch.randn(C_out, 1, 1, 1, dtype=torch.float64, generator=gen)
        bias = torch.zeros(C_out, dtype=torch.float64, requires_grad=True)
        y = F.conv2d(x, weight, bias, groups=g)
        grad_y = torch.randn(y.shape, dtype=torch.float64, generator=gen)
        (expected,) = torch.autograd.grad(y, bias, grad_y)
        checked.append((dict(grad_y=grad_y, groups=g), expected, None))
    return _expected_checker("conv_bias_grad", fn, checked, _NO_CONV_BIAS_GRAD)


#: the small float64 case of check_conv_function's gradcheck and gradgradcheck:
#: (x shape, weight shape, stride, padding, dilation, groups), every parameter changed
_GRADCHECK_CASE = ((1, 2, 5, 6), (4, 1, 2, 3), (2, 1), (1, 0), (1, 2), 2)

_FUNCTION_HINT = (
    "backward(ctx, grad_y) returns one gradient per input of forward, in its order: "
    "grad_x, grad_weight, grad_bias (None when bias is None), then None for stride, "
    "padding, dilation and groups; each gradient has its input's shape."
)


def _not_a_function(cls):
    """Why ``cls`` is not a subclass of ``torch.autograd.Function``, or None if it is."""
    if isinstance(cls, type) and issubclass(cls, torch.autograd.Function):
        return None
    if isinstance(cls, type):
        what = f"the class {cls.__name__}, which"
    elif inspect.isfunction(cls) or inspect.ismethod(cls):
        what = f"the function {cls.__name__}, which"
    else:
        what = f"a {type(cls).__name__} object, which"
    return (
        f"  {what} is not a subclass of torch.autograd.Function: write class "
        f"MyConv(torch.autograd.Function) with the static methods forward(ctx, x, "
        f"weight, bias, stride, padding, dilation, groups) and backward(ctx, "
        f"grad_y); the checker calls MyConv.apply(x, weight, bias, stride, padding, "
        f"dilation, groups), not an instance"
    )


def check_conv_function(cls, cases=8, seed=0) -> CheckReport:
    """Check ``cls``, a subclass of ``torch.autograd.Function`` called as
    ``cls.apply(x, weight, bias, stride, padding, dilation, groups)`` (``bias`` a
    tensor or None; ``stride``, ``padding`` and ``dilation`` pairs, ``groups``
    an int, as :func:`check_conv2d` passes them), against ``F.conv2d``.

    Its forward must equal ``F.conv2d``; its backward must return torch's
    gradients: ``grad_x = fold(W^T @ grad_y)`` and ``grad_W = sum over n of
    grad_y[n] @ unfold(x)[n]^T`` per group, ``grad_b = grad_y.sum((0, 2, 3))``
    (None when ``bias`` is None), then None for the four parameters. Cases from
    simple to hard: the defaults, then without bias, then each parameter alone,
    then combinations (``cases`` in all); then ``torch.autograd.gradcheck`` and
    ``gradgradcheck`` on one small float64 case with every parameter changed
    (the backward must itself be differentiable: made of torch operations
    autograd can follow); then, on the same case, ``torch.func.vmap`` of
    ``torch.func.grad`` must give each sample's weight gradient (the class needs
    ``setup_context`` and ``generate_vmap_rule = True``). A backward that
    returns None for a gradient torch has, or a gradient of the wrong shape,
    fails with what backward must return. An answer whose forward or backward
    runs a torch convolution, or asks torch for a convolution's gradient,
    fails. Taught in chapter 5.
    """
    name = getattr(cls, "__name__", type(cls).__name__)
    report = CheckReport(name, cases + 3)
    why = _not_a_function(cls)
    if why:
        report.failure = why
        return report

    def apply(x, weight, bias=None, *, stride, padding, dilation, groups):
        return cls.apply(x, weight, bias, stride, padding, dilation, groups)

    simple = 2 + 2 * len(_CONV_KNOBS)
    built = []  # the defaults twice, then each parameter once: the second without bias
    for i, ((x, weight, bias), kw) in enumerate(
        _conv_cases(random.Random(seed), cases + len(_CONV_KNOBS), _CONV_KNOBS)
    ):
        if i < simple and i > 1 and i % 2 == 0:
            continue
        without_bias = i == 1 or (i >= simple and i % 3 == 0)
        if without_bias:
            about = "bias=None; everything else default" if i == 1 else None
            built.append(((x, weight), dict(bias=None, **kw), about))
        else:
            built.append(((x, weight, bias), kw))
    built = built[:cases]
    inner = _tensor_checker(
        name,
        apply,
        built,
        F.conv2d,
        names=("x", "weight", "bias"),
        forbid=_NO_CONV_FUNCTION,
        allow=_BACKWARD_OFFERS,
        hint=_FUNCTION_HINT,
        error_hint=f"; {_FUNCTION_HINT}",
    )
    report.passed, report.failure = inner.passed, inner.failure
    report.not_implemented = inner.not_implemented
    if not inner:
        return report
    x_shape, w_shape, s, p, d, g = _GRADCHECK_CASE
    gen = torch.Generator().manual_seed(seed)
    x, weight, bias = (
        torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
        for shape in (x_shape, w_shape, w_shape[:1])
    )
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    for check, what in (
        (torch.autograd.gradcheck, "backward against finite differences"),
        (torch.autograd.gradgradcheck, "the backward's own gradients"),
    ):
        where = _where(
            report,
            kw,
            f"x of shape {x_shape}, weight of shape {w_shape}, bias of shape "
            f"{w_shape[:1]}, {_fmt(kw)}",
            about=f"{check.__name__}: {what}",
        )
        try:
            _, ops = _watched(
                lambda check=check: check(
                    lambda x, w, b: cls.apply(x, w, b, s, p, d, g), (x, weight, bias)
                ),
                _BACKWARD_OFFERS,
            )
        except _ConvlabCall as err:
            report.failure = _convlab_failure(where, "it", err, _BACKWARD_OFFERS)
            return report
        except Exception as err:
            first = _first_line(err)
            report.failure = (
                f"{where}\n  {check.__name__} failed: {type(err).__name__}: {first}"
                + (
                    "; compute the backward with torch operations that autograd can "
                    "follow (F.fold, F.unfold, products), as the forward: no .detach(), "
                    "torch.no_grad() or @once_differentiable"
                    if check is torch.autograd.gradgradcheck
                    else ""
                )
            )
            return report
        if _forbidden(report, ops, _NO_CONV_FUNCTION, where):
            return report
        report.passed += 1
    _check_under_vmap(report, cls, (x, weight, bias), kw, x_shape, w_shape)
    return report


def _check_under_vmap(report, cls, tensors, kw, x_shape, w_shape):
    """The last step of :func:`check_conv_function`: per-sample weight gradients
    by ``torch.func.vmap(torch.func.grad(...))`` equal autograd's, one sample at
    a time (the Function must have ``setup_context`` and a vmap rule), on a
    batch of three."""
    _, weight, bias = (t.detach() for t in tensors)
    gen = torch.Generator().manual_seed(1)
    x_shape = (3, *x_shape[1:])
    x = torch.randn(x_shape, dtype=weight.dtype, generator=gen)
    s, p, d, g = kw["stride"], kw["padding"], kw["dilation"], kw["groups"]
    where = _where(
        report,
        kw,
        f"x of shape {x_shape}, weight of shape {w_shape}, {_fmt(kw)}",
        about="torch.func.vmap(torch.func.grad(loss)): each sample's weight gradient",
    )

    def loss(x_n, w):
        return cls.apply(x_n[None], w, bias, s, p, d, g).square().sum()

    try:
        got = torch.func.vmap(torch.func.grad(loss, argnums=1), in_dims=(0, None))(x, weight)
    except Exception as err:
        first = _first_line(err)
        report.failure = (
            f"{where}\n  torch.func failed: {type(err).__name__}: {first}; for torch.func, "
            "forward takes no ctx, a setup_context staticmethod saves what backward needs, "
            "and the class sets generate_vmap_rule = True (as in section 5.4)"
        )
        return
    want = []
    for i in range(x.shape[0]):
        w = weight.clone().requires_grad_()
        y = F.conv2d(x[i : i + 1], w, bias, **kw)
        want.append(torch.autograd.grad(y.square().sum(), w)[0])
    want = torch.stack(want)
    if got.shape != want.shape or not torch.allclose(got, want, atol=1e-8):
        report.failure = (
            f"{where}\n  values: the per-sample gradients differ from autograd's, one "
            "sample at a time"
        )
        return
    report.passed += 1


def check_per_sample_grads(fn, cases=12, seed=0) -> CheckReport:
    """Check ``fn(x, grad_y, kernel_size, stride, padding, dilation)``: each image's own
    gradient of ``F.conv2d(x, weight, stride=..., padding=..., dilation=...)`` (one
    group) with respect to ``weight``, against autograd run on each image alone.

    ``x`` is ``(N, C_in, H, W)``, ``grad_y`` ``(N, C_out, H_out, W_out)``;
    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are pairs (as
    :func:`check_conv2d` passes them); the answer is ``(N, C_out, C_in, kH,
    kW)``: ``grad_W[n] = grad_y[n] @ unfold(x)[n]^T``, the weight gradient
    before the sum over the batch, for all ``n`` at once
    ``torch.einsum('nol,nkl->nok', grad_y.flatten(2), unfold(x))`` viewed as
    ``(N, C_out, C_in, kH, kW)``. Cases from simple to hard (one image, then
    batches of 2 or 3), each parameter alone, then combinations. An answer that
    runs a torch convolution, or asks torch for its gradient, fails (``vmap``
    of one that does too). Taught in chapter 5.
    """
    rng = random.Random(seed)
    built = _conv_cases(rng, cases, ("stride", "padding", "dilation"), batch=(2, 3))
    checked = []
    for x, weight, kw, grad_y, _, _ in _with_grads(rng, built, F.conv2d):
        weight.requires_grad_(True)
        alone = [  # autograd on each image by itself
            torch.autograd.grad(F.conv2d(x[n : n + 1], weight, **kw), weight, grad_y[n : n + 1])[0]
            for n in range(x.shape[0])
        ]
        del kw["groups"]
        args = dict(x=x, grad_y=grad_y, kernel_size=tuple(weight.shape[2:]), **kw)
        checked.append((args, torch.stack(alone), None))
    return _expected_checker("per_sample_grads", fn, checked, _NO_CONV_PER_SAMPLE)


def check_tconv_weight_grad(fn, cases=20, seed=0) -> CheckReport:
    """Check ``fn(x, grad_y, kernel_size, stride, padding, output_padding, dilation,
    groups)``, the gradient of ``F.conv_transpose2d(x, weight, ...)`` with respect to
    ``weight``, against autograd.

    ``x`` is ``(N, C_in, H, W)``, ``grad_y`` ``(N, C_out, H_out, W_out)``;
    ``kernel_size``, ``stride``, ``padding``, ``output_padding`` and ``dilation``
    are pairs, ``groups`` an int; the answer is ``(C_in, C_out/groups, kH,
    kW)``, the transposed convolution's weight. Input pixel ``i`` was sent, by
    tap ``j``, to output ``i*s - p + j*dil``, so ``grad_W[ci, co, j] = sum over
    n, i of x[n, ci, i] * grad_y[n, co, i*s - p + j*dil]``: unfold ``grad_y``
    with the same kernel size, stride and dilation and padding ``p`` before,
    ``p - output_padding`` after (``F.pad`` crops a negative amount), which gives
    exactly ``H x W`` blocks, then per group ``x_g @ cols_g^T`` summed over the
    batch: the weight gradient of the convolution from ``grad_y`` to ``x``. Cases
    from simple to hard, each parameter alone, then an ``output_padding`` with
    the stride it needs, then combinations (every ``output_padding`` below the
    stride or the dilation, as torch requires); the last case has ``stride <=
    output_padding < dilation`` (``stride=1, dilation=2, output_padding=1``),
    where padding ``grad_y`` by ``p`` on both sides gives one block too many. An
    answer that runs a torch convolution, or asks torch for its gradient,
    fails. Taught in chapter 5.
    """
    rng = random.Random(seed)
    built = _tconv_cases(rng, cases - 1, _CONV_KNOBS, output_padding=True)
    gen = torch.Generator().manual_seed(seed)
    last = dict(stride=(1, 1), padding=(0, 0), output_padding=(1, 1), groups=1, dilation=(2, 2))
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64, generator=gen)
    weight = torch.randn(2, 2, 3, 3, dtype=torch.float64, generator=gen)
    built.append(((x, weight, None), last))
    checked = []
    for i, (x, weight, kw, grad_y, _, grad_weight) in enumerate(
        _with_grads(rng, built, F.conv_transpose2d)
    ):
        args = dict(x=x, grad_y=grad_y, kernel_size=tuple(weight.shape[2:]), **kw)
        note = None
        if i == len(built) - 1:
            note = (
                "an output_padding not below the stride, only below the dilation (torch allows it)"
            )
        checked.append((args, grad_weight, note))
    return _expected_checker("tconv_weight_grad", fn, checked, _NO_CONV_TCONV_WEIGHT)
