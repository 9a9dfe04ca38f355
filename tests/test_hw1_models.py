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
