"""Every checker passes a correct answer and catches deliberately wrong ones.

Wrong answers of every kind: wrong shape, values or gradient; full of nan, or
with an inf; detached (no gradient at all, or a zero one); calling the very
operation the exercise asks for (recorded at the aten level, forward or
backward). And the cases go from simple to hard: an answer that ignores one
parameter first fails on the case that changes only that parameter.
"""

import itertools
import math
import re
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import convlab
from convlab import exercises as ex


@pytest.fixture(autouse=True)
def _answers_may_call_convlab(monkeypatch):
    """These tests build right answers from convlab's own ops (a reader's answer may
    not: test_an_answer_that_calls_convlab_fails turns this off)."""
    monkeypatch.setattr(ex, "_LET_ANSWERS_CALL_CONVLAB", True)


def _stub(*args, **kwargs):
    raise NotImplementedError


def _text(report):
    """A report's text, its lines joined (reports wrap at 76 columns)."""
    return " ".join(repr(report).split())


def _failed_on(report, case, changes):
    """The report failed on ``case``, described as changing ``changes`` (a regex)."""
    text = repr(report)
    assert not report, text
    assert f"{case - 1} of " in text.splitlines()[0], text
    text = " ".join(text.split())
    assert re.search(rf"case {case} \({changes}\)", text), text
    return text


# ---------------------------------------------------------------------------
# answers broken the same way for every tensor checker
# ---------------------------------------------------------------------------
def _nan(right):
    def answer(*tensors, **kw):
        return torch.full_like(right(*tensors, **kw), float("nan"))

    return answer


def _inf(right):
    """Right everywhere but at one value (and its gradient is right)."""

    def answer(*tensors, **kw):
        out = right(*tensors, **kw)
        bump = torch.zeros_like(out)
        bump.view(-1)[-1] = float("inf")
        return out + bump

    return answer


def _detached(right):
    def answer(*tensors, **kw):
        return right(*(t.detach() for t in tensors), **kw)

    return answer


def _zero_grad(right):
    """Right values that require grad, but no gradient flows to the inputs."""

    def answer(*tensors, **kw):
        out = right(*(t.detach() for t in tensors), **kw)
        return out + 0 * sum(t.sum() for t in tensors)

    return answer


def _assert_catches_broken_answers(check, right, *, grad=True):
    """nan, inf and (with ``grad``) detached answers fail, each with its sentence."""
    assert check(right)
    nan = check(_nan(right))
    assert not nan and "values are nan or inf where torch's are finite" in _text(nan)
    assert "got nan" in _text(nan) and _text(nan).startswith("FAILED: ")
    inf = check(_inf(right))
    assert not inf and "1 of " in _text(inf) and "got inf" in _text(inf)
    if grad:
        detached = check(_detached(right))
        assert not detached and "the result does not require grad: it carries no gradient" in _text(
            detached
        )
        zero = check(_zero_grad(right))
        assert not zero and "no gradient reaches" in _text(zero) and "gives zeros" in _text(zero)
        # without gradients, a detached answer with the right values passes
        assert check(_detached(right), grad=False)


# ---------------------------------------------------------------------------
# chapter 1
# ---------------------------------------------------------------------------
def _keeps(input_size, kernel_size, stride, padding, dilation, *, pad_step=2, floor=True):
    """The remainder rule of ex-keeps-count; ``pad_step=1`` forgets that padding is
    per side, ``floor=False`` forgets the floor (every growth changes the count)."""
    if not floor:
        return set()
    q, r = divmod(input_size + 2 * padding - dilation * (kernel_size - 1) - 1, stride)
    rules = dict(
        input_size=r + 1 < stride,
        padding=r + pad_step < stride,
        kernel_size=r >= dilation,
        dilation=r >= kernel_size - 1,
        stride=r >= q,
    )
    return {name for name, keeps in rules.items() if keeps}


def test_keeps_count_checker():
    def twice(input_size, kernel_size, stride, padding, dilation):  # the formula, twice
        args = dict(n=input_size, k=kernel_size, s=stride, p=padding, d=dilation)

        def out(n, k, s, p, d):
            m = n + 2 * p - d * (k - 1) - 1
            return m // s + 1 if m >= 0 else 0

        names = dict(input_size="n", kernel_size="k", stride="s", padding="p", dilation="d")
        return {g for g, a in names.items() if out(**{**args, a: args[a] + 1}) == out(**args)}

    def stride_never(**kw):  # "a larger stride always gives fewer blocks"
        return _keeps(**kw) - {"stride"}

    def as_list(**kw):
        return sorted(_keeps(**kw))

    def runs_unfold(input_size, kernel_size, stride, padding, dilation):
        F.unfold(torch.zeros(1, 1, 1, input_size), (1, kernel_size))
        return _keeps(input_size, kernel_size, stride, padding, dilation)

    assert ex.check_keeps_count(_keeps)
    assert ex.check_keeps_count(twice)
    for wrong in (
        lambda **kw: _keeps(**kw, pad_step=1),
        lambda **kw: _keeps(**kw, floor=False),
        stride_never,
        as_list,
    ):
        report = ex.check_keeps_count(wrong)
        assert not report and "expected" in _text(report), _text(report)
    assert "padding" in _text(ex.check_keeps_count(lambda **kw: _keeps(**kw, pad_step=1)))
    cheat = ex.check_keeps_count(runs_unfold)
    assert not cheat and "it calls F.unfold" in _text(cheat)
    stub = ex.check_keeps_count(_stub)
    assert not stub and _text(stub).startswith("NOT YET")


def test_unfold_checker_names_shape_value_and_gradient_failures():
    assert ex.check_unfold(convlab.unfold)
    shape = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: convlab.unfold(
            x, kernel_size, padding=padding, stride=stride
        )
    )
    assert not shape and "shape: expected" in _text(shape)
    value = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: (
            convlab.unfold(x, kernel_size, dilation, padding, stride) * 1.01
        )
    )
    assert not value and "values: largest difference" in _text(value)

    class WrongGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, cols):
            return cols.clone()

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    grad = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: WrongGrad.apply(
            convlab.unfold(x, kernel_size, dilation, padding, stride)
        )
    )
    assert not grad and "but the gradient with respect to x is not" in _text(grad)
    crash = ex.check_unfold(lambda x, **kw: x[99])
    assert not crash and "it raised IndexError" in _text(crash)
    stub = ex.check_unfold(_stub)
    assert not stub and _text(stub).startswith("NOT YET")


def test_unfold_checker_catches_nan_inf_and_detached_answers():
    def right(x, kernel_size, dilation, padding, stride):
        return convlab.unfold(x, kernel_size, dilation, padding, stride)

    _assert_catches_broken_answers(ex.check_unfold, right)


def test_unfold_checker_refuses_F_unfold_even_hidden():
    report = ex.check_unfold(F.unfold)
    text = _failed_on(report, 1, "all defaults: stride=1, padding=0, dilation=1")
    assert "it calls F.unfold (torch ran aten.im2col)" in text
    assert "which this exercise asks you to do without" in text
    # however it is spelled: torch's C function, or a method on a module
    hidden = ex.check_unfold(lambda x, **kw: torch._C._nn.im2col(x, **kw))
    assert not hidden and "aten.im2col" in _text(hidden)
    layer = ex.check_unfold(lambda x, **kw: nn.Unfold(**kw)(x))
    assert not layer and "aten.im2col" in _text(layer)
    # Tensor.unfold (a strided view, aten.unfold) is allowed
    assert ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: (
            convlab.unfold(x, kernel_size, dilation, padding, stride) + 0 * x.unfold(2, 1, 1).sum()
        )
    )


def test_unfold_cases_go_from_defaults_to_one_parameter_to_combinations():
    def ignoring(name):
        def answer(x, kernel_size, dilation, padding, stride):
            kw = dict(dilation=dilation, padding=padding, stride=stride)
            kw[name] = 0 if name == "padding" else 1
            return convlab.unfold(x, kernel_size, **kw)

        return answer

    _failed_on(ex.check_unfold(ignoring("stride")), 3, r"stride=\d; everything else default")
    _failed_on(ex.check_unfold(ignoring("padding")), 5, r"padding=\d; everything else default")
    text = _failed_on(
        ex.check_unfold(ignoring("dilation")), 7, r"dilation=2; everything else default"
    )
    assert "shape: expected" in text

    # the uneven pair comes right after the even one: swapping height and width
    def swapped(x, kernel_size, dilation, padding, stride):
        return convlab.unfold(x, kernel_size, dilation, padding, stride[::-1])

    _failed_on(ex.check_unfold(swapped), 4, r"stride=\(\d, \d\); everything else default")
    # after one parameter at a time, the combinations change two or more
    late = ex.check_unfold(
        lambda x, kernel_size, dilation, padding, stride: (
            convlab.unfold(x, kernel_size, dilation, padding, stride)
            * (1.5 if min(stride) > 1 and min(padding) > 0 else 1)
        )
    )
    assert not late and late.passed >= 8
    case = repr(late).splitlines()[1]
    assert "stride=" in case and "padding=" in case


def test_parameters_for_L_checker():
    def right(input_size, L):
        # one block row; L blocks along the width: padding makes room when needed
        H, W = input_size
        p = max(0, -(-(L - W) // 2))
        return dict(kernel_size=(H, W + 2 * p - L + 1), stride=1, padding=(0, p), dilation=1)

    def no_padding(input_size, L):
        H, W = input_size
        return dict(kernel_size=(H, W - L + 1), stride=1, padding=0, dilation=1)

    assert ex.check_parameters_for_L(right)
    off_by_one = ex.check_parameters_for_L(
        lambda input_size, L: dict(kernel_size=1, stride=1, padding=0, dilation=1)
    )
    assert not off_by_one and "F.unfold gives L=" in _text(off_by_one)
    illegal = ex.check_parameters_for_L(
        lambda input_size, L: dict(kernel_size=99, stride=1, padding=0, dilation=1)
    )
    assert not illegal and "F.unfold rejects" in _text(illegal)
    assert not ex.check_parameters_for_L(lambda input_size, L: (1, 1, 0, 1))
    # the cases that need no padding come first
    late = ex.check_parameters_for_L(no_padding)
    assert not late and late.passed > 0 and "more than the width" in _text(late)


# ---------------------------------------------------------------------------
# chapter 2
# ---------------------------------------------------------------------------
def test_fold_checker():
    assert ex.check_fold(convlab.fold)
    wrong = ex.check_fold(
        lambda cols, output_size, kernel_size, dilation, padding, stride: (
            convlab.fold(cols, output_size, kernel_size, dilation, padding, stride) / 2
        )
    )
    assert not wrong and "values: largest difference" in _text(wrong)
    _assert_catches_broken_answers(ex.check_fold, convlab.fold)
    cheat = ex.check_fold(F.fold)
    assert not cheat and "it calls F.fold (torch ran aten.col2im)" in _text(cheat)
    assert "called with cols of shape (1, " in _text(cheat)


def test_fold_checker_sees_fold_in_the_backward_and_allows_unfold():
    def fold_as_unfold_gradient(cols, output_size, kernel_size, dilation, padding, stride):
        # the gradient of unfold is fold: this runs aten.col2im in autograd's backward
        z = cols.new_zeros(cols.shape[0], cols.shape[1] // (kernel_size[0] * kernel_size[1]))
        z = z[:, :, None, None].expand(-1, -1, *output_size).clone().requires_grad_(True)
        unfolded = convlab.unfold(z, kernel_size, dilation, padding, stride)
        (y,) = torch.autograd.grad(unfolded, z, cols, create_graph=True)
        return y

    assert ex.check_fold(fold_as_unfold_gradient)  # convlab's unfold: fine
    with_F = ex.check_fold(_fold_through_F_unfold)
    assert not with_F and "aten.col2im" in _text(with_F)

    def index_add_with_F_unfold(cols, output_size, kernel_size, dilation, padding, stride):
        # chapter 2's solution, with F.unfold (on float pixel numbers) instead
        (H, W), (ph, pw) = output_size, padding
        Hp, Wp = H + 2 * ph, W + 2 * pw
        N, CK, L = cols.shape
        K = kernel_size[0] * kernel_size[1]
        numbers = torch.arange(Hp * Wp, dtype=torch.float64).view(1, 1, Hp, Wp)
        where = F.unfold(numbers, kernel_size, dilation, 0, stride)[0].long()
        out = cols.new_zeros(N, CK // K, Hp * Wp)
        out = out.index_add(2, where.reshape(-1), cols.reshape(N, CK // K, K * L))
        return out.view(N, CK // K, Hp, Wp)[:, :, ph : ph + H, pw : pw + W]

    assert ex.check_fold(index_add_with_F_unfold)


def _fold_through_F_unfold(cols, output_size, kernel_size, dilation, padding, stride):
    C = cols.shape[1] // (kernel_size[0] * kernel_size[1])
    z = cols.new_zeros(cols.shape[0], C, *output_size).requires_grad_(True)
    unfolded = F.unfold(z, kernel_size, dilation, padding, stride)
    (y,) = torch.autograd.grad(unfolded, z, cols, create_graph=True)
    return y


def test_a_NotImplementedError_from_torch_is_a_bug_not_a_stub():
    def long_numbers(cols, output_size, kernel_size, dilation, padding, stride):
        numbers = torch.arange(25).view(1, 1, 5, 5)
        return F.unfold(numbers, 2)  # im2col has no int64 kernel

    report = ex.check_fold(long_numbers)
    assert not report and not report.not_implemented
    assert "it raised NotImplementedError" in _text(report) and "Long" in _text(report)


def test_divisor_and_invertible_checkers():
    def right_divisor(output_size, kernel_size, dilation, padding, stride):
        return convlab.fold_divisor(
            output_size,
            kernel_size,
            dilation=dilation,
            padding=padding,
            stride=stride,
            dtype=torch.float64,
        )

    assert ex.check_divisor(right_divisor)
    wrong = ex.check_divisor(
        lambda output_size, kernel_size, dilation, padding, stride: convlab.fold_divisor(
            output_size, kernel_size, padding=padding, stride=stride, dtype=torch.float64
        )
    )
    _failed_on(wrong, 7, r"dilation=2; everything else default")
    nan = ex.check_divisor(lambda **kw: torch.full_like(right_divisor(**kw), float("nan")))
    assert not nan and "nan or inf where torch's are finite" in _text(nan)
    inf = ex.check_divisor(lambda **kw: right_divisor(**kw) / 0)
    assert not inf and "got inf" in _text(inf)

    def by_fold(output_size, kernel_size, dilation, padding, stride):
        ones = torch.ones(1, 1, *output_size, dtype=torch.float64)
        cols = convlab.unfold(ones, kernel_size, dilation, padding, stride)
        return F.fold(cols, output_size, kernel_size, dilation, padding, stride)[0, 0]

    cheat = ex.check_divisor(by_fold)
    assert not cheat and "it calls F.fold" in _text(cheat)

    def right(input_size, kernel_size, stride, padding, dilation):
        divisor = convlab.fold_divisor(
            input_size, kernel_size, dilation=dilation, padding=padding, stride=stride
        )
        return bool((divisor > 0).all())

    def naive(input_size, kernel_size, stride, padding, dilation):
        return all(s <= k for s, k in zip(stride, kernel_size))  # forgets dilation and floor

    def by_divisor(input_size, kernel_size, stride, padding, dilation):
        ones = torch.ones(1, 1, *input_size)
        cols = F.unfold(ones, kernel_size, dilation, padding, stride)
        return bool(
            (convlab.fold(cols, input_size, kernel_size, dilation, padding, stride) > 0).all()
        )

    assert ex.check_invertible(right)
    assert not ex.check_invertible(naive)
    cheat = ex.check_invertible(by_divisor)
    assert not cheat and "it calls F.unfold" in _text(cheat)


def _weighted_average(cols, weights, output_size, kernel_size, dilation, padding, stride):
    params = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    N, _, L = cols.shape
    K = kernel_size[0] * kernel_size[1]
    w = weights[:, None, :]  # (N, 1, L)
    top = convlab.fold(cols * w, output_size, **params)
    bottom = convlab.fold(w.expand(N, K, L), output_size, **params)
    return top / torch.where(bottom > 0, bottom, 1)


def test_weighted_average_reference_is_the_weighted_least_squares_image():
    """The checker's reference solves min_x sum_l w_l ||unfold(x)_l - cols_l||^2
    (minimum norm on free pixels), as torch.linalg.lstsq on sqrt(w) U does."""
    gen = torch.Generator().manual_seed(3)
    for (H, W), k, s, p, d in [((5, 6), 2, 1, 0, 1), ((6, 5), 3, 2, 1, 1), ((7, 7), 2, 3, 0, 2)]:
        kw = dict(kernel_size=(k, k), dilation=(d, d), padding=(p, p), stride=(s, s))
        eye = torch.eye(H * W, dtype=torch.float64).view(H * W, 1, H, W)
        U = F.unfold(eye, **kw).reshape(H * W, -1).T  # (K*L, H*W)
        L = U.shape[0] // (k * k)
        cols = torch.randn(1, k * k, L, dtype=torch.float64, generator=gen)
        weights = torch.rand(1, L, dtype=torch.float64, generator=gen)
        weights[0, 0] = 0
        root = weights.sqrt().expand(k * k, L).reshape(-1, 1)  # one per row of U
        best = torch.linalg.lstsq(root * U, root[:, 0] * cols.flatten(), driver="gelsd")
        got = ex._weighted_average(cols, weights, (H, W), **kw)
        torch.testing.assert_close(got.flatten(), best.solution)


def test_weighted_average_checker():
    assert ex.check_weighted_average(_weighted_average)
    assert ex.check_weighted_average(ex._weighted_average)
    assert "NOT YET" in repr(ex.check_weighted_average(_stub))

    def unweighted(cols, weights, output_size, kernel_size, dilation, padding, stride):
        params = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
        divisor = convlab.fold_divisor(output_size, **params, dtype=cols.dtype)
        return F.fold(cols, output_size, **params) / divisor.clamp(min=1)

    def weighted_top_only(cols, weights, output_size, **params):  # divides by the divisor
        return unweighted(cols * weights[:, None], weights, output_size, **params)

    def clamped(cols, weights, output_size, kernel_size, dilation, padding, stride):
        params = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
        K = kernel_size[0] * kernel_size[1]
        w = weights[:, None, :].expand(-1, K, -1)
        top = F.fold(cols * weights[:, None], output_size, **params)
        return top / F.fold(w, output_size, **params).clamp(min=1)  # weights below 1

    def divides_by_zero(cols, weights, output_size, kernel_size, dilation, padding, stride):
        params = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
        K = kernel_size[0] * kernel_size[1]
        w = weights[:, None, :].expand(-1, K, -1)
        top = F.fold(cols * weights[:, None], output_size, **params)
        return top / F.fold(w, output_size, **params)

    for wrong in (unweighted, weighted_top_only, clamped):
        report = ex.check_weighted_average(wrong)
        assert not report and "values: largest difference" in _text(report), wrong.__name__
    nan = ex.check_weighted_average(divides_by_zero)
    assert not nan and "nan or inf where torch's are finite" in _text(nan)
    _assert_catches_broken_answers(ex.check_weighted_average, _weighted_average, grad=False)


# ---------------------------------------------------------------------------
# chapter 3
# ---------------------------------------------------------------------------
def test_conv2d_checker_with_groups():
    assert ex.check_conv2d(convlab.conv2d, groups=True)
    no_bias = ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: convlab.conv2d(
            x, w, None, stride, padding, dilation, groups
        )
    )
    text = _failed_on(no_bias, 1, "all defaults: stride=1, padding=0, dilation=1, groups=1")
    assert "values" in text and "called with x of shape (1, 1, " in text
    ignores_groups = ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: convlab.conv2d(
            x, w.repeat(1, groups, 1, 1), b, stride, padding, dilation, 1
        ),
        groups=True,
    )
    _failed_on(ignores_groups, 9, "groups=2; everything else default")
    no_dilation = ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: convlab.conv2d(
            x, w, b, stride, padding, 1, groups
        )
    )
    _failed_on(no_dilation, 7, r"dilation=2; everything else default")


def test_conv2d_checker_catches_nan_inf_detached_and_torch_convolutions():
    _assert_catches_broken_answers(ex.check_conv2d, convlab.conv2d)
    no_bias_grad = ex.check_conv2d(lambda x, w, b, **kw: convlab.conv2d(x, w, b.detach(), **kw))
    assert not no_bias_grad and "no gradient reaches bias: autograd gives None" in _text(
        no_bias_grad
    )
    for cheat in (
        F.conv2d,
        torch.conv2d,
        lambda x, w, b, **kw: torch.ops.aten.convolution(
            x, w, b, kw["stride"], kw["padding"], kw["dilation"], False, (0, 0), kw["groups"]
        ),
    ):
        report = ex.check_conv2d(cheat)
        text = _failed_on(report, 1, "all defaults: .*")
        assert "it calls a torch convolution" in text and "aten.convolution" in text

    class ConvGradient(torch.autograd.Function):
        """convlab's forward, but torch's own convolution gradients backward."""

        @staticmethod
        def forward(ctx, x, w, b, stride, padding, dilation, groups):
            ctx.save_for_backward(x, w)
            ctx.kw = (stride, padding, dilation, groups)
            return convlab.conv2d(x, w, b, stride, padding, dilation, groups)

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            s, p, d, g = ctx.kw
            gx = torch.nn.grad.conv2d_input(x.shape, w, grad, s, p, d, g)
            gw = torch.nn.grad.conv2d_weight(x, w.shape, grad, s, p, d, g)
            return gx, gw, grad.sum((0, 2, 3)), None, None, None, None

    backward = ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: ConvGradient.apply(
            x, w, b, stride, padding, dilation, groups
        )
    )
    assert not backward and "aten.convolution_backward" in _text(backward)
    assert ex.check_conv2d(
        lambda x, w, b, stride, padding, dilation, groups: ConvGradient.apply(
            x, w, b, stride, padding, dilation, groups
        ),
        grad=False,
    )


class _RightModule(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.kw = dict(stride=stride, padding=padding, dilation=dilation)

    def forward(self, x):
        return convlab.conv2d(x, self.weight, None, **self.kw)


def test_conv_module_checker():
    class ForumBug(_RightModule):  # unfold without stride and dilation
        def forward(self, x):
            H, W = x.shape[2:]
            k = self.weight.shape[-1]
            s, p, d = self.kw["stride"], self.kw["padding"], self.kw["dilation"]
            h = (H + 2 * p - d * (k - 1) - 1) // s + 1
            w = (W + 2 * p - d * (k - 1) - 1) // s + 1
            cols = F.unfold(x, k, padding=p)
            out = self.weight.view(self.weight.shape[0], -1) @ cols
            return F.fold(out, (h, w), kernel_size=1)

    class Torch(_RightModule):
        def forward(self, x):
            return F.conv2d(x, self.weight, None, **self.kw)

    class Nan(_RightModule):
        def forward(self, x):
            return super().forward(x) * float("nan")

    class Stub(nn.Module):
        def __init__(self, *args, **kwargs):
            raise NotImplementedError  # your code here

    assert ex.check_conv_module(_RightModule)
    bug = ex.check_conv_module(ForumBug)
    text = _failed_on(bug, 3, r"stride=\d; everything else default")
    assert "forward raised RuntimeError" in text
    cheat = ex.check_conv_module(Torch)
    assert not cheat and "it calls a torch convolution" in _text(cheat)
    nan = ex.check_conv_module(Nan)
    assert not nan and "nan or inf where torch's are finite" in _text(nan)
    assert _text(ex.check_conv_module(Stub)).startswith("NOT YET: Stub")


def test_size_checkers():
    def conv_size(size, kernel_size, stride, padding, dilation):
        return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1

    def forum_002(size, kernel_size, stride, padding, dilation):
        return int((size + 2 * padding - (kernel_size - 1) - 1) / stride + 1)

    def by_conv(size, kernel_size, stride, padding, dilation):
        x, w = torch.zeros(1, 1, size), torch.zeros(1, 1, kernel_size)
        return F.conv1d(x, w, None, stride, padding, dilation).shape[-1]

    assert ex.check_conv_output_size(conv_size)
    _failed_on(ex.check_conv_output_size(forum_002), 7, "dilation=2; everything else default")
    assert not ex.check_conv_output_size(lambda **kw: float("nan"))
    cheat = ex.check_conv_output_size(by_conv)
    assert not cheat and "it calls a torch convolution" in _text(cheat)


def test_output_shape_checker():
    def right(x_shape, weight_shape, stride, padding, dilation, groups):
        N, C_in = x_shape[:2]
        C_out, per_group = weight_shape[:2]
        if C_in % groups or per_group * groups != C_in or C_out % groups:
            raise ValueError("channels do not match groups")
        size = convlab.conv_output_shape(
            x_shape[2:], weight_shape[2:], stride=stride, padding=padding, dilation=dilation
        )
        return (N, C_out, *size)

    def never_raises(x_shape, weight_shape, stride, padding, dilation, groups):
        size = convlab.conv_output_shape(
            x_shape[2:], weight_shape[2:], stride=stride, padding=padding, dilation=dilation
        )
        return (x_shape[0], weight_shape[0], *size)

    def by_conv(x_shape, weight_shape, stride, padding, dilation, groups):
        try:
            y = F.conv2d(
                torch.zeros(x_shape),
                torch.zeros(weight_shape),
                None,
                stride,
                padding,
                dilation,
                groups,
            )
        except RuntimeError as err:
            raise ValueError(str(err)) from err
        return tuple(y.shape)

    assert ex.check_output_shape(right)
    report = ex.check_output_shape(never_raises)
    text = _failed_on(
        report, 11, r"groups=\d; everything else default; C_in=\d+, which groups=\d cannot split"
    )
    assert "expected a ValueError" in text
    cheat = ex.check_output_shape(by_conv)
    assert not cheat and "it calls a torch convolution" in _text(cheat)
    assert _text(ex.check_output_shape(_stub)).startswith("NOT YET")

    def checks_c_in_only(x_shape, weight_shape, stride, padding, dilation, groups):
        if x_shape[1] % groups:
            raise ValueError("C_in is not divisible by groups")
        return never_raises(x_shape, weight_shape, stride, padding, dilation, groups)

    def checks_divisibility_only(x_shape, weight_shape, stride, padding, dilation, groups):
        if weight_shape[0] % groups:
            raise ValueError("C_out is not divisible by groups")
        return checks_c_in_only(x_shape, weight_shape, stride, padding, dilation, groups)

    text = _failed_on(
        ex.check_output_shape(checks_c_in_only),
        16,
        r".*?C_out=\d+, which groups=\d cannot split \(C_in=\d+ can\)",
    )
    assert "expected a ValueError" in text
    text = _failed_on(
        ex.check_output_shape(checks_divisibility_only),
        21,
        r".*?weight_shape\[1\]=\d+, but C_in / groups = \d+",
    )
    assert "expected a ValueError" in text


# ---------------------------------------------------------------------------
# chapter 4
# ---------------------------------------------------------------------------
def _tconv(method):
    def answer(x, weight, bias, stride, padding, output_padding, groups, dilation):
        return convlab.conv_transpose2d(
            x, weight, bias, stride, padding, output_padding, groups, dilation, method=method
        )

    return answer


def test_conv_transpose2d_checker():
    for method in convlab.TRANSPOSE_METHODS:
        for level in ex.TRANSPOSE_LEVELS:
            assert ex.check_conv_transpose2d(_tconv(method), level=level)

    def no_flip(x, weight, bias, stride, padding, output_padding, groups, dilation):
        # the forum's trap: a convolution with transposed, unrotated weights
        k = weight.shape[-2:]
        return convlab.conv2d(x, weight.transpose(0, 1), bias, 1, (k[0] - 1, k[1] - 1))

    wrong = ex.check_conv_transpose2d(no_flip, level="stride1")
    assert not wrong and "values" in _text(wrong)


def test_conv_transpose2d_cases_are_legal_on_every_seed():
    """The assignments' hidden tests run the checkers on other seeds: every case must be one
    torch accepts (seed 2 once drew output_padding=2 with stride 2)."""
    for seed in range(40):
        for level in ex.TRANSPOSE_LEVELS:
            report = ex.check_conv_transpose2d(_tconv("fold"), seed=seed, level=level, grad=False)
            assert report, (seed, level, str(report))


def test_conv_transpose2d_checker_catches_broken_answers_and_torch_convolutions():
    right = _tconv("fold")
    _assert_catches_broken_answers(ex.check_conv_transpose2d, right)
    for cheat in (F.conv_transpose2d, torch.conv_transpose2d):
        report = ex.check_conv_transpose2d(cheat, level="stride1")
        assert not report and "it calls a torch convolution" in _text(report)

    def zeros_then_F_conv2d(x, weight, bias, stride, padding, output_padding, groups, dilation):
        # chapter 4's zero insertion, then torch's convolution: still a torch convolution
        (sh, sw), (kh, kw) = stride, weight.shape[2:]
        N, C, H, W = x.shape
        up = x.new_zeros(N, C, (H - 1) * sh + 1, (W - 1) * sw + 1)
        up[:, :, ::sh, ::sw] = x
        up = F.pad(up, (kw - 1, kw - 1, kh - 1, kh - 1))
        return F.conv2d(up, torch.rot90(weight, 2, dims=[2, 3]).transpose(0, 1), bias)

    report = ex.check_conv_transpose2d(zeros_then_F_conv2d, level="stride")
    assert not report and "aten.convolution" in _text(report)


def test_conv_transpose2d_levels_order_and_bad_level():
    with pytest.raises(ValueError, match="is not a level"):
        ex.check_conv_transpose2d(_tconv("fold"), level="easy")

    def global_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
        # the groups trap: swap in/out channels globally instead of within each group
        C_in, C_out_g = weight.shape[:2]
        w = (
            weight.transpose(0, 1).reshape(C_in, C_out_g, *weight.shape[2:])
            if groups > 1
            else weight
        )
        return convlab.conv_transpose2d(
            x, w, bias, stride, padding, output_padding, groups, dilation
        )

    wrong = ex.check_conv_transpose2d(global_transpose, level="all", cases=40)
    assert not wrong and "values" in _text(wrong)

    def no_output_padding(x, weight, bias, stride, padding, output_padding, groups, dilation):
        return convlab.conv_transpose2d(x, weight, bias, stride, padding, 0, groups, dilation)

    report = ex.check_conv_transpose2d(no_output_padding)
    _failed_on(report, 11, r"stride=\d, output_padding=\d; everything else default")
    assert ex.check_conv_transpose2d(no_output_padding, level="stride")

    def no_stride(x, weight, bias, stride, padding, output_padding, groups, dilation):
        return convlab.conv_transpose2d(x, weight, bias, 1, padding, 0, groups, dilation)

    _failed_on(
        ex.check_conv_transpose2d(no_stride, level="stride"),
        3,
        r"stride=\d; everything else default",
    )
    stride1 = _text(ex.check_conv_transpose2d(lambda *a, **kw: 0, level="stride1"))
    assert (
        "case 1 (all defaults: stride=1, padding=0, dilation=1, groups=1, output_padding=0)"
        in stride1
    )


def _stride1(x, weight, bias):
    """A stride-1 transposed convolution from F.unfold and one product (no torch conv)."""
    C_out, (kh, kw) = weight.shape[1], weight.shape[2:]
    H, W = x.shape[2:]
    w_conv = torch.rot90(weight, 2, dims=[2, 3]).transpose(0, 1)
    cols = F.unfold(x, (kh, kw), padding=(kh - 1, kw - 1))
    out = (w_conv.reshape(C_out, -1) @ cols).view(x.shape[0], C_out, H + kh - 1, W + kw - 1)
    return out + bias.view(1, -1, 1, 1)


def _subpixel_answer(phase_taps=lambda a, s: a, rotate=True):
    def answer(x, weight, bias, stride, padding, output_padding, groups, dilation):
        (sh, sw), (kh, kw) = stride, weight.shape[2:]
        N, _, H, W = x.shape
        y = x.new_zeros(N, weight.shape[1], (H - 1) * sh + kh, (W - 1) * sw + kw)
        w = weight if rotate else torch.rot90(weight, 2, dims=[2, 3])
        for a in range(sh):
            for b in range(sw):
                part = w[:, :, phase_taps(a, sh) :: sh, phase_taps(b, sw) :: sw]
                rows, cols = y[:, :, a::sh, b::sw].shape[2:]
                if part.numel():
                    piece = _stride1(x, part, bias * 0)[:, :, :rows, :cols]
                    y[:, :, a::sh, b::sw] = F.pad(
                        piece, (0, cols - piece.shape[3], 0, rows - piece.shape[2])
                    )
        return y + bias.view(1, -1, 1, 1)

    return answer


def test_subpixel_checker_passes_the_decomposition_and_counts_multiply_adds():
    right = _subpixel_answer()
    assert ex.check_subpixel(right)
    _assert_catches_broken_answers(ex.check_subpixel, right)
    # the gather: right values, but it multiplies the inserted zeros
    gather = _tconv("rot90")
    report = ex.check_subpixel(gather)
    assert not report and "the values are right, but it does" in _text(report)
    assert "insert no zeros" in _text(report)
    # the fold method does fewer products than the bound: it passes the count
    assert ex.check_subpixel(_tconv("fold"))
    # wrong phases (phase a given the taps of phase s-1-a) and no rotation: values
    wrong_phase = ex.check_subpixel(_subpixel_answer(phase_taps=lambda a, s: s - 1 - a))
    assert not wrong_phase and "values" in _text(wrong_phase)
    assert "stride=" in _text(wrong_phase)  # stride 1 passes: it fails once s > 1
    no_rotation = ex.check_subpixel(_subpixel_answer(rotate=False))
    assert not no_rotation and "values" in _text(no_rotation)
    cheat = ex.check_subpixel(F.conv_transpose2d)
    assert not cheat and "it calls a torch convolution" in _text(cheat)


def test_subpixel_macs_is_the_count_of_the_decomposition():
    from torch.utils.flop_counter import FlopCounterMode

    right = _subpixel_answer()
    for n, k, s in ((5, 4, 2), (6, 3, 3), (4, 2, 4), (7, 5, 2)):
        x, w, b = torch.randn(1, 1, n, n), torch.randn(1, 1, k, k), torch.zeros(1)
        with FlopCounterMode(display=False) as counter:
            right(x, w, b, (s, s), (0, 0), (0, 0), 1, (1, 1))
        assert counter.get_total_flops() // 2 == ex.subpixel_macs((n, n), (k, k), (s, s))


def test_tconv_input_grad_checker_wants_one_conv2d_with_the_same_parameters():
    def right(grad_y, weight, stride, padding, output_padding, dilation, groups):
        y = F.conv2d(grad_y, weight, None, stride, padding, dilation, groups)
        # stride <= output_padding < dilation adds output_padding // stride rows
        extra = [a // s for a, s in zip(output_padding, stride)]
        return y[..., : y.shape[-2] - extra[0], : y.shape[-1] - extra[1]]

    assert ex.check_tconv_input_grad(right)
    assert ex.check_tconv_input_grad(right, cases=40, seed=3)

    # the uncropped convolution is right only while output_padding < stride
    def uncropped(grad_y, weight, stride, padding, output_padding, dilation, groups):
        return F.conv2d(grad_y, weight, None, stride, padding, dilation, groups)

    for seed in range(4):
        report = ex.check_tconv_input_grad(uncropped, seed=seed)
        assert not report and "shape" in _text(report)

    def rotated(grad_y, weight, stride, padding, output_padding, dilation, groups):
        w = torch.rot90(weight, 2, dims=[2, 3])  # the gather's kernel: not here
        return right(grad_y, w, stride, padding, output_padding, dilation, groups)

    def no_groups(grad_y, weight, stride, padding, output_padding, dilation, groups):
        return F.conv2d(grad_y, weight, None, stride, padding, dilation)

    def gather_padding(grad_y, weight, stride, padding, output_padding, dilation, groups):
        q = [d * (k - 1) - p for d, k, p in zip(dilation, weight.shape[2:], padding)]
        return F.conv2d(grad_y, weight, None, stride, q, dilation, groups)

    for wrong in (rotated, no_groups, gather_padding):
        assert not ex.check_tconv_input_grad(wrong)
    assert "values" in _text(ex.check_tconv_input_grad(rotated))

    def by_autograd(grad_y, weight, stride, padding, output_padding, dilation, groups):
        C_in = weight.shape[0]
        size = [
            (o + 2 * p - d * (k - 1) - 1 - a) // s + 1
            for o, p, d, k, a, s in zip(
                grad_y.shape[2:], padding, dilation, weight.shape[2:], output_padding, stride
            )
        ]
        x = torch.zeros(grad_y.shape[0], C_in, *size, dtype=grad_y.dtype, requires_grad=True)
        y = F.conv_transpose2d(x, weight, None, stride, padding, output_padding, groups, dilation)
        return torch.autograd.grad(y, x, grad_y)[0]

    cheat = ex.check_tconv_input_grad(by_autograd)
    assert not cheat and "asks torch for a convolution's gradient" in _text(cheat)

    # some cases carry an output_padding: an answer wrong only there fails
    def only_without_op(grad_y, weight, stride, padding, output_padding, dilation, groups):
        if any(output_padding):
            return None
        return right(grad_y, weight, stride, padding, output_padding, dilation, groups)

    assert not ex.check_tconv_input_grad(only_without_op)


def test_phase_pattern_checker_wants_each_phases_taps_with_the_padding_shift():
    def right(weight, stride, padding):
        s, p = stride, padding
        out = weight.new_zeros(s, s)
        for a in range(s):
            for b in range(s):
                out[a, b] = weight[(a + p) % s :: s, (b + p) % s :: s].sum()
        return out

    assert ex.check_phase_pattern(right)
    assert ex.check_phase_pattern(right, cases=40, seed=2)
    _failed_on(
        ex.check_phase_pattern(lambda weight, stride, padding: right(weight, stride, 0)),
        4,
        r"stride=2, padding=1",
    )
    mean = ex.check_phase_pattern(
        lambda weight, stride, padding: weight.sum().expand(stride, stride) / stride**2
    )
    _failed_on(mean, 2, r"stride=2; everything else default")

    def unshifted_rows(weight, stride, padding):  # the padding shift on columns only
        out = right(weight, stride, padding)
        return (
            torch.stack(
                [
                    right(weight, stride, 0)[a] * 0 + out[(a - padding) % stride]
                    for a in range(stride)
                ]
            )
            if padding
            else out
        )

    assert not ex.check_phase_pattern(unshifted_rows)

    def by_torch(weight, stride, padding):
        y = F.conv_transpose2d(
            torch.ones(1, 1, 9, 9, dtype=weight.dtype), weight[None, None], stride=stride
        )
        return y[0, 0, 4 : 4 + stride, 4 : 4 + stride]

    cheat = ex.check_phase_pattern(by_torch)
    assert not cheat and "it calls a torch convolution" in _text(cheat)


def _right_output_sizes(L, kernel_size, dilation, padding, stride):
    def sizes(blocks, k, d, p, s):
        low = (blocks - 1) * s + d * (k - 1) + 1 - 2 * p
        return [n for n in range(low, low + s) if n >= 1]

    found = set()
    for Lh in (b for b in range(1, L + 1) if L % b == 0):
        for H in sizes(Lh, kernel_size[0], dilation[0], padding[0], stride[0]):
            for W in sizes(L // Lh, kernel_size[1], dilation[1], padding[1], stride[1]):
                found.add((H, W))
    return found


def test_output_sizes_is_what_torch_fold_accepts():
    for L, k, d, p, s in [(4, (2, 2), (1, 1), (0, 0), (1, 1)), (6, (3, 2), (2, 1), (1, 0), (2, 3))]:
        cols = torch.zeros(1, k[0] * k[1], L)
        accepted = set()
        for H, W in itertools.product(range(1, 40), range(1, 40)):
            try:
                F.fold(cols, (H, W), k, d, p, s)
                accepted.add((H, W))
            except RuntimeError:
                pass
        assert ex._output_sizes(L, k, d, p, s) == accepted == _right_output_sizes(L, k, d, p, s)


def test_output_sizes_checker():
    right = _right_output_sizes
    assert ex.check_output_sizes(right)
    assert ex.check_output_sizes(lambda **kw: sorted(right(**kw)))  # any collection
    assert "NOT YET" in _text(ex.check_output_sizes(_stub))

    def largest_only(**kw):
        return {max(right(**kw))}

    def square_grid_only(L, kernel_size, dilation, padding, stride):  # L = g * g only
        g, params = math.isqrt(L), dict(stride=stride, padding=padding, dilation=dilation)
        found = right(L, kernel_size, dilation, padding, stride)
        return {
            hw for hw in found if convlab.conv_output_shape(hw, kernel_size, **params) == (g, g)
        }

    def no_dilation(dilation, **kw):
        return right(dilation=(1, 1), **kw)

    def no_floor(stride, **kw):  # one size per block count: the smallest
        found = right(stride=stride, **kw)
        return {(H, W) for H, W in found if (H - 1, W) not in found and (H, W - 1) not in found}

    def no_padding(padding, **kw):
        return right(padding=(0, 0), **kw)

    _failed_on(ex.check_output_sizes(largest_only), 1, r"all defaults.*")
    _failed_on(ex.check_output_sizes(square_grid_only), 1, r"all defaults.*")
    _failed_on(ex.check_output_sizes(no_dilation), 7, r"dilation=2.*")
    _failed_on(ex.check_output_sizes(no_floor), 3, r"stride=3.*")
    _failed_on(ex.check_output_sizes(no_padding), 5, r"padding=2.*")
    report = ex.check_output_sizes(no_floor)
    assert "missing (fold accepts them)" in _text(report)
    report = ex.check_output_sizes(no_padding)
    assert "extra (fold refuses them)" in _text(report)
    bad = ex.check_output_sizes(lambda **kw: 3)
    assert not bad and "collection of (H, W) pairs" in _text(bad)

    def by_fold(L, kernel_size, dilation, padding, stride):
        cols = torch.zeros(1, kernel_size[0] * kernel_size[1], L)
        found = set()
        for H, W in itertools.product(range(1, 12), range(1, 12)):
            try:
                F.fold(cols, (H, W), kernel_size, dilation, padding, stride)
                found.add((H, W))
            except RuntimeError:
                pass
        return found

    cheat = ex.check_output_sizes(by_fold)
    assert not cheat and "it calls F.fold" in _text(cheat)


def test_conv_module_checker_catches_each_of_the_four_planted_bugs():
    """Chapter 3's ex-fix-module: the stub's four bugs, each alone, fail the checker."""
    import math

    import torch.nn as nn

    def make(span_bug=False, order_bug=False, view_bug=False, layout_bug=False):
        class M(nn.Module):
            def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
                super().__init__()
                shape = (out_channels, in_channels, kernel_size, kernel_size)
                self.weight = nn.Parameter(torch.empty(shape))
                nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
                self.k, self.s, self.p, self.d = kernel_size, stride, padding, dilation

            def forward(self, x):
                N, C_out = x.shape[0], self.weight.shape[0]
                k, s, p, d = self.k, self.s, self.p, self.d
                span = k if span_bug else d * (k - 1) + 1
                h = (x.shape[2] + 2 * p - span) // s + 1
                w = (x.shape[3] + 2 * p - span) // s + 1
                cols = F.unfold(x, k, p, d, s) if order_bug else F.unfold(x, k, d, p, s)
                wt = self.weight.view(-1, C_out) if view_bug else self.weight.view(C_out, -1).T
                out = cols.transpose(1, 2) @ wt
                out = out if layout_bug else out.transpose(1, 2)
                return out.reshape(N, C_out, h, w)

        return M

    assert ex.check_conv_module(make())
    for bug in ("span_bug", "order_bug", "view_bug", "layout_bug"):
        assert not ex.check_conv_module(make(**{bug: True})), bug
    assert not ex.check_conv_module(make(True, True, True, True))


def test_every_checker_is_used_by_a_chapter():
    """No dead checkers: each public check_* of convlab.exercises is called in a notebook."""
    import json
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    code = "".join(
        "".join(c["source"])
        for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        for c in json.loads(nb.read_text())["cells"]
        if c["cell_type"] == "code"
    )
    checkers = [name for name in ex.__all__ if name.startswith("check_")]
    assert checkers and [c for c in checkers if f"exercises.{c}(" not in code] == []


def test_an_answer_that_calls_convlab_fails(monkeypatch):
    """convlab holds the book's own answers (its ops, its shape helpers, the checkers'
    references): an answer may call torch, and of convlab only what its exercise offers,
    however it imported the function."""
    monkeypatch.setattr(ex, "_LET_ANSWERS_CALL_CONVLAB", False)
    from convlab import fold_divisor

    def tconv(x, weight, bias, stride, padding, output_padding, groups, dilation):
        return convlab.conv_transpose2d(
            x, weight, bias, stride, padding, output_padding, groups, dilation
        )

    def divisor(output_size, kernel_size, dilation, padding, stride):
        return fold_divisor(output_size, kernel_size, dilation, padding, stride)

    def sizes(L, kernel_size, dilation, padding, stride):
        return ex._output_sizes(L, kernel_size, dilation, padding, stride)

    def fold_by_convlab(cols, output_size, kernel_size, dilation, padding, stride):
        return convlab.ops.fold(cols, output_size, kernel_size, dilation, padding, stride)

    for report, called in (
        (ex.check_conv_transpose2d(tconv), "convlab.conv_transpose2d"),
        (ex.check_divisor(divisor), "convlab.fold_divisor"),
        (ex.check_output_sizes(sizes), "convlab.exercises._output_sizes"),
        (ex.check_fold(fold_by_convlab), "convlab.fold"),
    ):
        assert not report and f"calls {called}:" in _text(report), _text(report)

    # what an exercise offers stays allowed: fold with convlab.unfold, as the book's answer
    def fold_with_convlab_unfold(cols, output_size, kernel_size, dilation, padding, stride):
        (H, W), (ph, pw) = output_size, padding
        Hp, Wp = H + 2 * ph, W + 2 * pw
        N, CK, L = cols.shape
        K = kernel_size[0] * kernel_size[1]
        numbers = torch.arange(Hp * Wp).view(1, 1, Hp, Wp)
        where = convlab.unfold(numbers, kernel_size, dilation, 0, stride)[0]
        out = cols.new_zeros(N, CK // K, Hp * Wp)
        out = out.index_add(2, where.reshape(-1), cols.reshape(N, CK // K, K * L))
        return out.view(N, CK // K, Hp, Wp)[:, :, ph : ph + H, pw : pw + W]

    assert ex.check_fold(fold_with_convlab_unfold)
    assert sys.getprofile() is None  # the checker leaves no profile function behind


# ---------------------------------------------------------------------------
# chapter 5
# ---------------------------------------------------------------------------
def _input_grad(grad_y, weight, input_size, stride, padding, dilation, groups):
    """fold(W^T @ grad_y) per group, with the convolution's own parameters."""
    N, C_out, g = grad_y.shape[0], weight.shape[0], groups
    w = weight.reshape(g, C_out // g, -1)  # (g, C_out/g, C_in/g * K)
    dy = grad_y.reshape(N, g, C_out // g, -1)  # (N, g, C_out/g, L)
    cols = (w.transpose(1, 2) @ dy).reshape(N, -1, dy.shape[-1])  # (N, C_in * K, L)
    return F.fold(cols, input_size, weight.shape[2:], dilation, padding, stride)


def _weight_grads(x, grad_y, kernel_size, stride, padding, dilation, groups):
    """Each image's ``grad_y[n] @ unfold(x)[n]^T`` per group: (N, C_out, C_in/g, kH, kW)."""
    N, C_out, g = x.shape[0], grad_y.shape[1], groups
    cols = F.unfold(x, kernel_size, dilation, padding, stride)
    cols = cols.reshape(N, g, -1, cols.shape[-1])  # (N, g, C_in/g * K, L)
    dy = grad_y.reshape(N, g, C_out // g, -1)  # (N, g, C_out/g, L)
    return (dy @ cols.transpose(2, 3)).reshape(N, C_out, -1, *kernel_size)


def _weight_grad(x, grad_y, kernel_size, stride, padding, dilation, groups):
    return _weight_grads(x, grad_y, kernel_size, stride, padding, dilation, groups).sum(0)


def _tconv_weight_grad(x, grad_y, kernel_size, stride, padding, output_padding, dilation, groups):
    """The weight gradient of the convolution from grad_y (padded p before, p - op after)
    to x: the roles of input and output gradient swapped."""
    (ph, pw), (oh, ow) = padding, output_padding
    dy = F.pad(grad_y, (pw, pw - ow, ph, ph - oh))
    return _weight_grad(dy, x, kernel_size, stride, 0, dilation, groups)


def test_conv_input_grad_checker():
    assert ex.check_conv_input_grad(_input_grad)
    _assert_catches_broken_answers(ex.check_conv_input_grad, _input_grad, grad=False)
    assert _text(ex.check_conv_input_grad(_stub)).startswith("NOT YET: conv_input_grad")

    def size_from_grad_y(grad_y, weight, input_size, stride, padding, dilation, groups):
        size = [
            (o - 1) * s + d * (k - 1) + 1 - 2 * p
            for o, s, d, k, p in zip(grad_y.shape[2:], stride, dilation, weight.shape[2:], padding)
        ]
        return _input_grad(grad_y, weight, size, stride, padding, dilation, groups)

    # the floor: the simple stride cases leave a row or a column of x in no block
    for seed in range(8):
        text = _failed_on(
            ex.check_conv_input_grad(size_from_grad_y, seed=seed),
            3,
            r"stride=\d; everything else default",
        )
        assert "no block reads the last" in text and "of x (gradient 0)" in text
        assert "shape: expected" in text

    def unfolds(grad_y, weight, input_size, stride, padding, dilation, groups):
        return F.unfold(grad_y, weight.shape[2:], dilation, padding, stride)

    def rotated(grad_y, weight, input_size, stride, padding, dilation, groups):
        w = torch.rot90(weight, 2, dims=[2, 3])  # the gather's kernel: not here
        return _input_grad(grad_y, w, input_size, stride, padding, dilation, groups)

    def ignoring(name):
        def answer(**kw):
            kw[name] = 1 if name == "groups" else (0 if name == "padding" else (1, 1))
            return _input_grad(**kw)

        return answer

    assert "shape: expected" in _failed_on(ex.check_conv_input_grad(unfolds), 1, "all defaults.*")
    assert "values" in _failed_on(ex.check_conv_input_grad(rotated), 1, "all defaults.*")
    _failed_on(
        ex.check_conv_input_grad(ignoring("stride")), 3, r"stride=\d; everything else default"
    )
    _failed_on(
        ex.check_conv_input_grad(ignoring("padding")), 5, r"padding=\d; everything else default"
    )
    _failed_on(
        ex.check_conv_input_grad(ignoring("dilation")), 7, r"dilation=2; everything else default"
    )
    _failed_on(
        ex.check_conv_input_grad(ignoring("groups")), 9, r"groups=2; everything else default"
    )


def test_conv_input_grad_checker_refuses_torch_convolutions_and_their_gradients():
    def by_tconv(grad_y, weight, input_size, stride, padding, dilation, groups):
        return F.conv_transpose2d(grad_y, weight, None, stride, padding, 0, groups, dilation)

    def by_nn_grad(grad_y, weight, input_size, stride, padding, dilation, groups):
        shape = (grad_y.shape[0], weight.shape[1] * groups, *input_size)
        return torch.nn.grad.conv2d_input(shape, weight, grad_y, stride, padding, dilation, groups)

    def by_autograd(grad_y, weight, input_size, stride, padding, dilation, groups):
        x = grad_y.new_zeros(grad_y.shape[0], weight.shape[1] * groups, *input_size)
        x.requires_grad_(True)
        y = F.conv2d(x, weight, None, stride, padding, dilation, groups)
        return torch.autograd.grad(y, x, grad_y)[0]

    text = _text(ex.check_conv_input_grad(by_tconv))
    assert "it calls a torch convolution" in text and "(torch ran aten.convolution)" in text
    assert "fold the weight's transpose times grad_y instead" in text
    for cheat in (by_nn_grad, by_autograd):
        text = _failed_on(ex.check_conv_input_grad(cheat), 1, "all defaults.*")
        assert "asks torch for a convolution's gradient" in text
        assert "aten.convolution_backward" in text


def test_conv_weight_grad_checker():
    check = ex.check_conv_weight_grad
    assert check(_weight_grad)
    _assert_catches_broken_answers(check, _weight_grad, grad=False)
    assert _text(check(_stub)).startswith("NOT YET: conv_weight_grad")

    def first_image(**kw):  # forgets to sum over the batch
        return _weight_grads(**kw)[0]

    def mean_over_batch(**kw):
        return _weight_grads(**kw).mean(0)

    def not_summed(**kw):
        return _weight_grads(**kw)

    def no_groups(x, grad_y, kernel_size, stride, padding, dilation, groups):
        return _weight_grad(x, grad_y, kernel_size, stride, padding, dilation, 1)

    def no_dilation(x, grad_y, kernel_size, stride, padding, dilation, groups):
        return _weight_grad(x, grad_y, kernel_size, stride, padding, 1, groups)

    for wrong in (first_image, mean_over_batch):
        report = check(wrong)
        assert not report and "values: largest difference" in _text(report), wrong.__name__
        assert "of 20 cases passed" in _text(report) and "called with x=<tensor" in _text(report)
    assert "shape: expected" in _failed_on(check(not_summed), 1, "all defaults.*")
    _failed_on(check(no_groups), 9, r"groups=2; everything else default")
    _failed_on(check(no_dilation), 7, r"dilation=2; everything else default")

    def by_nn_grad(x, grad_y, kernel_size, stride, padding, dilation, groups):
        shape = (grad_y.shape[1], x.shape[1] // groups, *kernel_size)
        return torch.nn.grad.conv2d_weight(x, shape, grad_y, stride, padding, dilation, groups)

    def by_autograd(x, grad_y, kernel_size, stride, padding, dilation, groups):
        w = x.new_zeros(grad_y.shape[1], x.shape[1] // groups, *kernel_size)
        w.requires_grad_(True)
        y = F.conv2d(x, w, None, stride, padding, dilation, groups)
        return torch.autograd.grad(y, w, grad_y)[0]

    for cheat in (by_nn_grad, by_autograd):
        text = _failed_on(check(cheat), 1, "all defaults.*")
        assert "asks torch for a convolution's gradient" in text
        assert "multiply grad_y by the unfolded x, transposed" in text


def test_conv_bias_grad_checker_wants_a_sum_that_groups_do_not_change():
    check = ex.check_conv_bias_grad

    def right(grad_y, groups):
        return grad_y.sum((0, 2, 3))

    assert check(right)
    _assert_catches_broken_answers(check, right, grad=False)
    assert _text(check(_stub)).startswith("NOT YET: conv_bias_grad")

    def over_space_only(grad_y, groups):
        return grad_y.sum((2, 3))

    def first_image(grad_y, groups):
        return grad_y.sum((2, 3))[0]

    def divided_by_groups(grad_y, groups):
        return grad_y.sum((0, 2, 3)) / groups

    def group_average(grad_y, groups):  # the groups' sums averaged, for every group
        return grad_y.sum((0, 2, 3)).view(groups, -1).mean(0).repeat(groups)

    def by_autograd(grad_y, groups):
        N, C_out, H, W = grad_y.shape
        bias = grad_y.new_zeros(C_out, requires_grad=True)
        y = F.conv2d(
            grad_y.new_zeros(N, groups, H, W), grad_y.new_zeros(C_out, 1, 1, 1), bias, groups=groups
        )
        return torch.autograd.grad(y, bias, grad_y)[0]

    text = _failed_on(check(over_space_only), 1, "all defaults: groups=1")
    assert "shape: expected (1,), got (1, 1)" in text
    assert "values" in _failed_on(check(first_image), 2, "all defaults: groups=1")
    _failed_on(check(divided_by_groups), 3, "groups=2")
    text = _failed_on(check(group_average), 3, "groups=2")
    assert "called with grad_y=<tensor of shape (1, " in text and "groups=2" in text
    text = _failed_on(check(by_autograd), 1, "all defaults: groups=1")
    assert "asks torch for a convolution's gradient" in text


class _Conv2dFunction(torch.autograd.Function):
    """The convolution by F.unfold, its backward by F.fold and F.unfold, in the
    style torch.func needs (forward without ctx, setup_context, a vmap rule)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, weight, bias, stride, padding, dilation, groups):
        N, C_out, g, k = x.shape[0], weight.shape[0], groups, weight.shape[2:]
        size = convlab.conv_output_shape(
            x.shape[2:], k, stride=stride, padding=padding, dilation=dilation
        )
        cols = F.unfold(x, k, dilation, padding, stride)
        cols = cols.reshape(N, g, -1, cols.shape[-1])
        y = (weight.reshape(g, C_out // g, -1) @ cols).reshape(N, C_out, *size)
        return y if bias is None else y + bias.view(1, -1, 1, 1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, stride, padding, dilation, groups = inputs
        ctx.save_for_backward(x, weight)
        ctx.params = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None

    @staticmethod
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensors
        s, p, d, g = ctx.params
        grad_x = _input_grad(grad_y, weight, x.shape[2:], s, p, d, g)
        grad_w = _weight_grad(x, grad_y, weight.shape[2:], s, p, d, g)
        grad_b = grad_y.sum((0, 2, 3)) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None, None, None, None


def _with_backward(backward):
    """_Conv2dFunction with another backward(ctx, grad_y, x, weight, s, p, d, g)."""

    class Answer(_Conv2dFunction):
        @staticmethod
        def backward(ctx, grad_y):
            x, weight = ctx.saved_tensors
            return backward(ctx, grad_y, x, weight, *ctx.params)

    return Answer


def test_conv_function_checker_passes_a_right_function_and_names_each_case():
    check = ex.check_conv_function
    assert check(_Conv2dFunction)
    assert check(_Conv2dFunction, cases=16, seed=3)
    report = check(_Conv2dFunction, cases=3)
    assert report and report.total == 6

    class Stub(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
            raise NotImplementedError  # your code here

        @staticmethod
        def backward(ctx, grad_y):
            raise NotImplementedError  # your code here

    assert _text(check(Stub)).startswith("NOT YET: Stub raises NotImplementedError")

    class ForwardOnly(_Conv2dFunction):  # the backward still to write
        @staticmethod
        def backward(ctx, grad_y):
            raise NotImplementedError  # your code here

    assert _text(check(ForwardOnly)).startswith("NOT YET: ForwardOnly")

    # cases from simple to hard: defaults, no bias, then each parameter once
    def ignores(index, value):
        def forward(x, weight, bias, *params):
            params = list(params)
            params[index] = value
            return _Conv2dFunction.forward(x, weight, bias, *params)

        return type("Ignores", (_Conv2dFunction,), {"forward": staticmethod(forward)})

    _failed_on(check(ignores(0, (1, 1))), 3, r"stride=\(\d, \d\); everything else default")
    _failed_on(check(ignores(1, (0, 0))), 4, r"padding=\(\d, \d\); everything else default")
    _failed_on(check(ignores(2, (1, 1))), 5, r"dilation=\(\d, \d\); everything else default")
    report = check(ignores(3, 1))
    assert (
        not report and report.passed == 5 and "groups=3; everything else default" in _text(report)
    )


def test_conv_function_checker_names_what_backward_must_return():
    check = ex.check_conv_function

    def returns(which):
        def backward(ctx, grad_y, x, weight, s, p, d, g):
            grad_x = _input_grad(grad_y, weight, x.shape[2:], s, p, d, g)
            grad_w = _weight_grad(x, grad_y, weight.shape[2:], s, p, d, g)
            grad_b = grad_y.sum((0, 2, 3))
            grads = [grad_x, grad_w, grad_b, None, None, None, None]
            return which(grads)

        return _with_backward(backward)

    def no_weight(grads):
        grads[1] = None
        return tuple(grads)

    def flat_weight(grads):
        grads[1] = grads[1].flatten(1)
        return tuple(grads)

    def three(grads):
        return tuple(grads[:3])

    def bias_always(grads):  # a gradient for a bias that is None
        return tuple(grads)

    hint = "backward(ctx, grad_y) returns one gradient per input of forward, in its order"
    text = _failed_on(check(returns(no_weight)), 1, "all defaults.*")
    assert "no gradient reaches weight: autograd gives None" in text and hint in text
    text = _failed_on(check(returns(flat_weight)), 1, "all defaults.*")
    assert "returned an invalid gradient at index 1" in text and hint in text
    text = _failed_on(check(returns(three)), 1, "all defaults.*")
    assert "incorrect number of gradients (expected 7, got 3)" in text and hint in text
    text = _failed_on(check(returns(bias_always)), 2, "bias=None; everything else default")
    assert "the corresponding forward input was not a Variable" in text and hint in text
    assert "bias=None, stride=(1, 1)" in text

    def rotated(ctx, grad_y, x, weight, s, p, d, g):
        w = torch.rot90(weight, 2, dims=[2, 3])
        grad_x = _input_grad(grad_y, w, x.shape[2:], s, p, d, g)
        grad_w = _weight_grad(x, grad_y, weight.shape[2:], s, p, d, g)
        return grad_x, grad_w, grad_y.sum((0, 2, 3)), None, None, None, None

    text = _failed_on(check(_with_backward(rotated)), 1, "all defaults.*")
    assert "the values are right, but the gradient with respect to x is not" in text


def test_conv_function_checker_wants_a_differentiable_backward():
    """Right values and gradients, but a backward autograd cannot differentiate: the
    cases and gradcheck pass, gradgradcheck (the last case) fails."""

    class Once(_Conv2dFunction):
        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_y):
            return _Conv2dFunction.backward(ctx, grad_y)

    class Detached(_Conv2dFunction):
        @staticmethod
        def backward(ctx, grad_y):
            return _Conv2dFunction.backward(ctx, grad_y.detach())

    for answer in (Once, Detached):
        text = _failed_on(
            ex.check_conv_function(answer), 10, "gradgradcheck: the backward's own gradients"
        )
        assert "gradgradcheck failed" in text and "no .detach()" in text, answer.__name__


def test_conv_function_checker_wants_torch_func_support():
    """Right values, gradients and double backward, but written with ctx in
    forward (no setup_context): the last case, vmap(grad), fails and says how."""

    class CtxStyle(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            _Conv2dFunction.setup_context(ctx, inputs, None)
            return _Conv2dFunction.forward(*inputs)

        backward = _Conv2dFunction.backward

    text = _failed_on(ex.check_conv_function(CtxStyle), 11, r"torch\.func\.vmap.*")
    assert "setup_context" in text and "generate_vmap_rule = True" in text


def test_conv_function_checker_refuses_what_is_not_a_function_and_torch_convolutions():
    check = ex.check_conv_function

    def a_function(x, weight, bias, stride, padding, dilation, groups):
        return convlab.conv2d(x, weight, bias, stride, padding, dilation, groups)

    class Module(nn.Module):
        pass

    for answer, said in (
        (a_function, "the function a_function, which is not a subclass of"),
        (Module, "the class Module, which is not a subclass of"),
        (Module(), "a Module object, which is not a subclass of"),
    ):
        report = check(answer)
        assert not report and not report.not_implemented and said in _text(report)
        assert "0 of 11 cases passed" in _text(report)
        assert "MyConv.apply(x, weight, bias, stride, padding, dilation, groups)" in _text(report)

    class TorchForward(_Conv2dFunction):
        @staticmethod
        def forward(x, weight, bias, stride, padding, dilation, groups):
            return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    def nn_grad(ctx, grad_y, x, weight, s, p, d, g):
        grad_x = torch.nn.grad.conv2d_input(x.shape, weight, grad_y, s, p, d, g)
        grad_w = torch.nn.grad.conv2d_weight(x, weight.shape, grad_y, s, p, d, g)
        return grad_x, grad_w, grad_y.sum((0, 2, 3)), None, None, None, None

    text = _failed_on(check(TorchForward), 1, "all defaults.*")
    assert "it calls a torch convolution" in text
    text = _failed_on(check(_with_backward(nn_grad)), 1, "all defaults.*")
    assert "asks torch for a convolution's gradient" in text
    assert "aten.convolution_backward" in text

    class Nan(_Conv2dFunction):
        @staticmethod
        def forward(*args):
            return _Conv2dFunction.forward(*args) * float("nan")

    assert "values are nan or inf where torch's are finite" in _text(check(Nan))


def test_per_sample_grads_checker():
    check = ex.check_per_sample_grads

    def right(x, grad_y, kernel_size, stride, padding, dilation):
        cols = F.unfold(x, kernel_size, dilation, padding, stride)
        grads = torch.einsum("nol,nkl->nok", grad_y.flatten(2), cols)
        return grads.view(x.shape[0], grad_y.shape[1], x.shape[1], *kernel_size)

    def by_loop(x, grad_y, **kw):
        return torch.stack(
            [_weight_grad(x[n : n + 1], grad_y[n : n + 1], **kw, groups=1) for n in range(len(x))]
        )

    def by_vmap(x, grad_y, **kw):
        one = lambda x, grad_y: _weight_grad(x[None], grad_y[None], **kw, groups=1)  # noqa: E731
        return torch.func.vmap(one)(x, grad_y)

    for answer in (right, by_loop, by_vmap):
        assert check(answer), answer.__name__
    _assert_catches_broken_answers(check, right, grad=False)
    assert _text(check(_stub)).startswith("NOT YET: per_sample_grads")

    def batch_sum(x, grad_y, **kw):  # the ordinary weight gradient, copied to every image
        return right(x, grad_y, **kw).sum(0, keepdim=True).expand(len(x), -1, -1, -1, -1)

    def summed_einsum(x, grad_y, kernel_size, stride, padding, dilation):
        cols = F.unfold(x, kernel_size, dilation, padding, stride)
        return torch.einsum("nol,nkl->ok", grad_y.flatten(2), cols)

    text = _failed_on(check(batch_sum), 2, "all defaults: stride=1, padding=0, dilation=1")
    assert "values" in text
    assert "shape: expected" in _failed_on(check(summed_einsum), 1, "all defaults.*")

    def by_autograd(x, grad_y, kernel_size, stride, padding, dilation):
        w = x.new_zeros(grad_y.shape[1], x.shape[1], *kernel_size, requires_grad=True)
        kw = dict(stride=stride, padding=padding, dilation=dilation)
        return torch.stack(
            [
                torch.autograd.grad(F.conv2d(x[n : n + 1], w, **kw), w, grad_y[n : n + 1])[0]
                for n in range(len(x))
            ]
        )

    def by_vmap_grad(x, grad_y, kernel_size, stride, padding, dilation):
        w = x.new_zeros(grad_y.shape[1], x.shape[1], *kernel_size)
        kw = dict(stride=stride, padding=padding, dilation=dilation)

        def loss(w, x, g):
            return (F.conv2d(x[None], w, **kw) * g[None]).sum()

        return torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(w, x, grad_y)

    for cheat in (by_autograd, by_vmap_grad):
        text = _failed_on(check(cheat), 1, "all defaults.*")
        assert "aten.convolution" in text, cheat.__name__


def test_tconv_weight_grad_checker():
    check = ex.check_tconv_weight_grad

    def right(x, grad_y, kernel_size, stride, padding, output_padding, dilation, groups):
        N, C_in, g = x.shape[0], x.shape[1], groups
        (ph, pw), (oh, ow) = padding, output_padding
        dy = F.pad(grad_y, (pw, pw - ow, ph, ph - oh))
        cols = F.unfold(dy, kernel_size, dilation, 0, stride)
        cols = cols.reshape(N, g, -1, cols.shape[-1])
        xs = x.reshape(N, g, C_in // g, -1)
        return (xs @ cols.transpose(2, 3)).sum(0).reshape(C_in, -1, *kernel_size)

    for answer in (right, _tconv_weight_grad):
        assert check(answer)
        assert check(answer, cases=40, seed=5)
    _assert_catches_broken_answers(check, right, grad=False)
    assert _text(check(_stub)).startswith("NOT YET: tconv_weight_grad")

    def symmetric(output_padding, **kw):  # padding p on both sides, output_padding ignored
        return right(output_padding=(0, 0), **kw)

    # wrong wherever stride <= output_padding < dilation: a random case, or the last one
    text = _failed_on(check(symmetric), 18, r"padding=\(1, 2\), dilation=\(2, 1\), .*")
    assert "output_padding=(1, 0); everything else default" in text  # stride 1
    text = _failed_on(
        check(symmetric, seed=1), 20, r"dilation=2, output_padding=1; everything else default"
    )
    assert "an output_padding not below the stride, only below the dilation" in text

    def ignoring(name, value):
        def answer(**kw):
            return right(**{**kw, name: value})

        return answer

    _failed_on(check(ignoring("stride", (1, 1))), 3, r"stride=\d; everything else default")
    _failed_on(check(ignoring("padding", (0, 0))), 5, r"padding=\d; everything else default")
    _failed_on(check(ignoring("dilation", (1, 1))), 7, r"dilation=2; everything else default")
    _failed_on(check(ignoring("groups", 1)), 9, r"groups=2; everything else default")

    def unfolds_x(x, grad_y, kernel_size, stride, padding, output_padding, dilation, groups):
        # the convolution's weight gradient: unfold x, not grad_y
        return _weight_grad(grad_y, x, kernel_size, stride, padding, dilation, groups)

    assert not check(unfolds_x)

    def by_autograd(x, grad_y, kernel_size, stride, padding, output_padding, dilation, groups):
        w = x.new_zeros(x.shape[1], grad_y.shape[1] // groups, *kernel_size, requires_grad=True)
        y = F.conv_transpose2d(x, w, None, stride, padding, output_padding, groups, dilation)
        return torch.autograd.grad(y, w, grad_y)[0]

    text = _failed_on(check(by_autograd), 1, "all defaults.*")
    assert "asks torch for a convolution's gradient" in text
    assert "unfold grad_y and multiply x by it, transposed" in text


def test_backward_checkers_cases_are_legal_on_every_seed():
    """The assignments' hidden tests run the checkers on other seeds, with twice the cases:
    every case must be one torch accepts, and the right answers pass them all."""
    for seed in range(25):
        assert ex.check_conv_input_grad(_input_grad, cases=40, seed=seed), seed
        assert ex.check_conv_weight_grad(_weight_grad, cases=40, seed=seed), seed
        assert ex.check_conv_bias_grad(lambda grad_y, groups: grad_y.sum((0, 2, 3)), 40, seed)
        assert ex.check_per_sample_grads(
            lambda **kw: _weight_grads(**kw, groups=1), cases=24, seed=seed
        ), seed
        assert ex.check_tconv_weight_grad(_tconv_weight_grad, cases=40, seed=seed), seed
    for seed in range(1, 4):
        assert ex.check_conv_function(_Conv2dFunction, cases=16, seed=seed), seed


def test_backward_checkers_refuse_convlab_in_the_answer_and_in_its_backward(monkeypatch):
    monkeypatch.setattr(ex, "_LET_ANSWERS_CALL_CONVLAB", False)

    def by_convlab_tconv(grad_y, weight, input_size, stride, padding, dilation, groups):
        out = convlab.conv_transpose2d(grad_y, weight, None, stride, padding, 0, groups, dilation)
        return out[..., : input_size[0], : input_size[1]]

    text = _text(ex.check_conv_input_grad(by_convlab_tconv))
    assert "it calls convlab.conv_transpose2d:" in text
    assert "(here: convlab.unfold, convlab.fold, convlab.conv_output_shape)" in text

    def with_convlab_fold(grad_y, weight, input_size, stride, padding, dilation, groups):
        N, C_out, g = grad_y.shape[0], weight.shape[0], groups
        w = weight.reshape(g, C_out // g, -1)
        dy = grad_y.reshape(N, g, C_out // g, -1)
        cols = (w.transpose(1, 2) @ dy).reshape(N, -1, dy.shape[-1])
        return convlab.fold(cols, input_size, weight.shape[2:], dilation, padding, stride)

    assert ex.check_conv_input_grad(with_convlab_fold)

    def convlab_in_backward(ctx, grad_y, x, weight, s, p, d, g):
        grad_x = convlab.conv_transpose2d(grad_y, weight, None, s, p, 0, g, d)
        grad_x = F.pad(grad_x, (0, x.shape[3] - grad_x.shape[3], 0, x.shape[2] - grad_x.shape[2]))
        grad_w = _weight_grad(x, grad_y, weight.shape[2:], s, p, d, g)
        return grad_x, grad_w, grad_y.sum((0, 2, 3)), None, None, None, None

    text = _text(ex.check_conv_function(_with_backward(convlab_in_backward)))
    assert "its backward calls convlab.conv_transpose2d:" in text
    assert ex.check_conv_function(_Conv2dFunction)  # conv_output_shape is offered
    assert sys.getprofile() is None
