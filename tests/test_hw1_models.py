"""Tests of homework 1's models: the flexible MLP, the CNNs' sizes, and ResNet18 without its pretrained weights."""
import sys
import urllib.error
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks" / "hw1_mlp_cifar10"))
import hw1_models  # noqa: E402


def test_mlp_any_depth_and_activation():
    for activation, kind in (("relu", torch.nn.ReLU), ("sigmoid", torch.nn.Sigmoid), ("tanh", torch.nn.Tanh)):
        model = hw1_models.MLP([784, 32, 16, 8, 10], activation, dropout=0.5)
        assert sum(isinstance(m, kind) for m in model.modules()) == 3
        assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 3
        assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    with pytest.raises(ValueError, match="activation must be one of"):
        hw1_models.MLP([2, 2], "gelu")


def test_cnn_parameter_counts_match_the_spec():
    counts = [sum(p.numel() for p in m().parameters()) for m in (hw1_models.SimpleCNN, hw1_models.CNN_B, hw1_models.CNN_C)]
    assert counts == [545098, 1080042, 1259786]
    assert hw1_models.CNN_C()(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_average_pooling_variant_changes_only_the_pooling():
    max_net, avg_net = hw1_models.SimpleCNN(), hw1_models.SimpleCNN(pool="avg")
    assert isinstance(max_net.pool, torch.nn.MaxPool2d) and isinstance(avg_net.pool, torch.nn.AvgPool2d)
    assert [p.shape for p in max_net.parameters()] == [p.shape for p in avg_net.parameters()]
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    avg_net.load_state_dict(max_net.state_dict())
    assert not torch.allclose(max_net(x), avg_net(x))  # same weights, other pooling: other outputs
    with pytest.raises(ValueError, match="pool must be one of"):
        hw1_models.SimpleCNN(pool="min")


def test_spec_recipe_inputs_are_scaled_by_half(monkeypatch):
    import helpers
    x = torch.rand(6, 3, 32, 32)
    monkeypatch.setattr(helpers, "load_cifar10", lambda: (x, torch.arange(6), x[:2], torch.arange(2), ["a"] * 10))
    monkeypatch.setattr(helpers, "SMOKE", False)
    (xt, yt), (xs, ys), names = hw1_models.load_cifar10_spec_recipe()
    assert torch.allclose(xt, (x - 0.5) / 0.5) and len(xt) == 6 and torch.equal(ys, torch.arange(2))


def test_resnet18_without_weights_falls_back_and_says_so(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    import torchvision.models._api as api
    monkeypatch.setattr(api, "load_state_dict_from_url", offline, raising=False)
    model, note, pretrained = hw1_models.resnet18_for_cifar(pretrained=True)
    assert pretrained is False
    assert "not available" in note and hw1_models.RESNET18_FILE in note
    assert str(tmp_path) not in note and "\n" not in note  # one clean sentence: no absolute path, no traceback
    assert capsys.readouterr() == ("", "")  # nothing printed
    assert model.fc.out_features == 10 and model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
