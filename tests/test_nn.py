"""convlab.nn layers are drop-in replacements for torch's."""

import pytest
import torch

import convlab


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_is_a_drop_in(padding_mode):
    torch.manual_seed(1)
    kw = dict(
        in_channels=4,
        out_channels=6,
        kernel_size=(3, 2),
        stride=(2, 1),
        padding=(1, 1),
        dilation=(1, 2),
        groups=2,
        padding_mode=padding_mode,
    )
    ref = torch.nn.Conv2d(**kw).double()
    ours = convlab.nn.Conv2d(**kw).double()
    ours.load_state_dict(ref.state_dict())
    assert isinstance(ours, torch.nn.Conv2d)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    assert repr(ours) == repr(ref)
    x = torch.randn(3, 4, 9, 8, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-10, rtol=0)
    g_ours = torch.autograd.grad(ours(x).square().sum(), [x, ours.weight, ours.bias])
    g_ref = torch.autograd.grad(ref(x).square().sum(), [x, ref.weight, ref.bias])
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("method", convlab.TRANSPOSE_METHODS)
def test_conv_transpose2d_is_a_drop_in(method):
    torch.manual_seed(2)
    kw = dict(
        in_channels=4, out_channels=6, kernel_size=4, stride=2, padding=1, groups=2, dilation=1
    )
    ref = torch.nn.ConvTranspose2d(**kw).double()
    ours = convlab.nn.ConvTranspose2d(**kw, method=method).double()
    ours.load_state_dict(ref.state_dict())
    assert ours.state_dict().keys() == ref.state_dict().keys()
    assert f"method={method!r}" in repr(ours)
    x = torch.randn(2, 4, 7, 7, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-10, rtol=0)
    # output_size picks the output_padding, as in torch
    out = ours(x, output_size=(15, 15))
    assert out.shape[-2:] == (15, 15)
    torch.testing.assert_close(out, ref(x, output_size=(15, 15)), atol=1e-10, rtol=0)
    g_ours = torch.autograd.grad(out.square().sum(), [x, ours.weight, ours.bias])
    g_ref = torch.autograd.grad(
        ref(x, output_size=(15, 15)).square().sum(), [x, ref.weight, ref.bias]
    )
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_1d_and_3d_layers():
    torch.manual_seed(3)
    for ours_cls, ref_cls, shape in [
        (convlab.nn.Conv1d, torch.nn.Conv1d, (2, 3, 11)),
        (convlab.nn.Conv3d, torch.nn.Conv3d, (2, 3, 5, 6, 4)),
        (convlab.nn.ConvTranspose1d, torch.nn.ConvTranspose1d, (2, 3, 6)),
        (convlab.nn.ConvTranspose3d, torch.nn.ConvTranspose3d, (1, 3, 3, 4, 3)),
    ]:
        ref = ref_cls(3, 6, 3, stride=2, padding=1, groups=3).double()
        ours = ours_cls(3, 6, 3, stride=2, padding=1, groups=3).double()
        ours.load_state_dict(ref.state_dict())
        x = torch.randn(*shape, dtype=torch.float64)
        torch.testing.assert_close(ours(x), ref(x), atol=1e-10, rtol=0)


def test_transposed_layer_rejects_other_padding_modes():
    layer = convlab.nn.ConvTranspose2d(2, 2, 3)
    layer.padding_mode = "reflect"
    with pytest.raises(ValueError, match="padding_mode='reflect' is not supported"):
        layer(torch.zeros(1, 2, 4, 4))


def test_a_tiny_model_trains_identically():
    """Same seed, same data: the loss curves of torch's and convlab's layers agree."""

    def run(conv_cls, tconv_cls):
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            conv_cls(1, 4, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            tconv_cls(4, 1, 4, stride=2, padding=1),
        ).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(8, 1, 12, 12, generator=gen, dtype=torch.float64)
        losses = []
        for _ in range(15):
            loss = (model(x) - x).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    ref = run(torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    ours = run(convlab.nn.Conv2d, convlab.nn.ConvTranspose2d)
    assert ref[-1] < ref[0]
    assert ours == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("method", convlab.TRANSPOSE_METHODS)
def test_batch_chunking_gives_the_same_values_and_gradients(monkeypatch, method):
    """Large batches are lowered a chunk of samples at a time; force it on a small one."""
    import torch.nn.functional as F

    monkeypatch.setattr(convlab.ops, "CHUNK_BYTES", 1)
    torch.manual_seed(4)
    x = torch.randn(5, 4, 7, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    for ours, ref in [
        (convlab.conv2d(x, w, None, 2, 1, 1, 2), F.conv2d(x, w, None, 2, 1, 1, 2)),
        (
            convlab.conv_transpose2d(x, w[:4], None, 2, 1, 1, 2, method=method),
            F.conv_transpose2d(x, w[:4], None, 2, 1, 1, 2),
        ),
    ]:
        torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)
        grad = torch.randn_like(ref)
        for a, b in zip(
            torch.autograd.grad(ours, [x, w], grad), torch.autograd.grad(ref, [x, w], grad)
        ):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
