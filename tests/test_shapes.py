"""The shape functions agree with the shapes torch produces, over exhaustive small grids."""

import doctest
import itertools

import pytest
import torch
import torch.nn.functional as F

from convlab import shapes

GRID = list(itertools.product(range(1, 9), range(1, 5), range(1, 4), range(0, 3), range(1, 3)))


def _torch_conv_shape(size, k, s, p, d):
    try:
        return F.conv1d(
            torch.zeros(1, 1, size), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d
        ).shape[-1]
    except RuntimeError:
        return None


@pytest.mark.parametrize("size,k,s,p,d", GRID)
def test_conv_output_shape_and_num_blocks(size, k, s, p, d):
    expected = _torch_conv_shape(size, k, s, p, d)
    if expected is None:  # torch refuses: so must we, with a ValueError
        with pytest.raises(ValueError):
            shapes.conv_output_shape(size, k, stride=s, padding=p, dilation=d)
        return
    assert shapes.conv_output_shape(size, k, stride=s, padding=p, dilation=d) == (expected,)
    L = F.unfold(torch.zeros(1, 1, size, size + 1), k, d, p, s).shape[-1]
    assert shapes.num_blocks((size, size + 1), k, dilation=d, padding=p, stride=s) == L
    # every image size that fold accepts for this grid gives the same block count
    for other in shapes.fold_output_sizes_for(expected, k, dilation=d, padding=p, stride=s)[0]:
        assert shapes.conv_output_shape(other, k, stride=s, padding=p, dilation=d) == (expected,)
    sizes = shapes.fold_output_sizes_for(expected, k, dilation=d, padding=p, stride=s)[0]
    assert size in sizes
    for outside in (min(sizes) - 1, max(sizes) + 1):
        if outside >= 1 and _torch_conv_shape(outside, k, s, p, d) is not None:
            assert _torch_conv_shape(outside, k, s, p, d) != expected


@pytest.mark.parametrize("size,k,s,p,d", GRID)
def test_conv_transpose_output_shape_and_output_padding_for(size, k, s, p, d):
    for op in range(0, max(s, d) + 1):
        try:
            expected = F.conv_transpose1d(
                torch.zeros(1, 1, size),
                torch.zeros(1, 1, k),
                stride=s,
                padding=p,
                output_padding=op,
                dilation=d,
            ).shape[-1]
        except RuntimeError:
            expected = None
        if expected is None:
            with pytest.raises(ValueError):
                shapes.conv_transpose_output_shape(
                    size, k, stride=s, padding=p, output_padding=op, dilation=d
                )
        else:
            assert shapes.conv_transpose_output_shape(
                size, k, stride=s, padding=p, output_padding=op, dilation=d
            ) == (expected,)
    conv_out = _torch_conv_shape(size, k, s, p, d)
    if conv_out is None:
        return
    a = shapes.output_padding_for(size, k, stride=s, padding=p, dilation=d)
    assert 0 <= a[0] < s
    restored = F.conv_transpose1d(
        torch.zeros(1, 1, conv_out),
        torch.zeros(1, 1, k),
        stride=s,
        padding=p,
        output_padding=a,
        dilation=d,
    ).shape[-1]
    assert restored == size


@pytest.mark.parametrize("k,d", list(itertools.product(range(1, 6), range(1, 4))))
def test_same_and_valid_padding_shapes(k, d):
    for size in range(1, 9):
        x = torch.zeros(1, 1, size, size + 2)
        w = torch.zeros(1, 1, k, k)
        assert shapes.conv_output_shape((size, size + 2), k, padding="same", dilation=d) == (
            size,
            size + 2,
        )
        try:
            expected = tuple(F.conv2d(x, w, padding="valid", dilation=d).shape[2:])
        except RuntimeError:
            with pytest.raises(ValueError):
                shapes.conv_output_shape((size, size + 2), k, padding="valid", dilation=d)
            continue
        assert (
            shapes.conv_output_shape((size, size + 2), k, padding="valid", dilation=d) == expected
        )


def test_documented_numbers():
    """The numbers of ../shared/reference/convolution-facts.md."""
    assert shapes.num_blocks((224, 224), 3, dilation=2, stride=2) == 110 * 110 == 12100
    assert shapes.num_blocks((110, 110), 3, dilation=2, stride=2) == 53 * 53 == 2809
    assert shapes.fold_output_sizes_for((110, 110), 3, dilation=2, stride=2) == (
        (223, 224),
        (223, 224),
    )
    for size in (16, 17):
        assert shapes.conv_output_shape(size, 5, stride=3, padding=2) == (6,)
    assert shapes.conv_transpose_output_shape(6, 5, stride=3, padding=2) == (16,)
    assert shapes.output_padding_for(17, 5, stride=3, padding=2) == (1,)
    assert shapes.conv_transpose_output_shape(6, 5, stride=3, padding=2, output_padding=1) == (17,)


def test_three_dimensional_and_tuple_params():
    assert shapes.conv_output_shape(
        (8, 9, 10), (3, 2, 1), stride=(1, 2, 3), padding=(1, 0, 2), dilation=(2, 1, 1)
    ) == (
        tuple(
            F.conv3d(
                torch.zeros(1, 1, 8, 9, 10),
                torch.zeros(1, 1, 3, 2, 1),
                stride=(1, 2, 3),
                padding=(1, 0, 2),
                dilation=(2, 1, 1),
            ).shape[2:]
        )
    )
    # a tuple of length 1 is replicated, as torch does
    assert shapes.conv_output_shape((5, 7), (3,)) == (3, 5)


def test_docstring_examples():
    failures, tried = doctest.testmod(shapes)
    assert tried >= 5 and failures == 0


def test_every_public_function_has_a_docstring_with_a_chapter():
    import convlab.nn

    public = [
        getattr(convlab, name)
        for name in convlab.__all__
        if callable(getattr(convlab, name)) and not isinstance(getattr(convlab, name), type)
    ]
    public += [getattr(convlab.nn, name) for name in convlab.nn.__all__]
    public += [shapes.resolve_padding, shapes.normalize]
    for fn in public:
        doc = fn.__doc__ or ""
        assert len(doc) > 80, fn
        if fn is not shapes.normalize:
            assert "chapter" in doc.lower() or "convlab." in doc, fn
