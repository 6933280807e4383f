"""Backbone conversion: batch norms folded exactly, quantized TorchScript dequantised, files loaded into the trunk."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.nets import PixelPlayerNet, mobilenet_v2_features
from pixelplayer_blender.training import backbone


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6()) if relu else nn.Sequential(*layers)


class _TorchvisionBlock(nn.Module):
    """torchvision's InvertedResidual layout: ``conv`` = [expand (conv, bn, relu6)], depthwise, project conv, bn."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        expand = [] if expansion == 1 else [_conv_bn(cin, hidden, 1)]
        self.conv = nn.Sequential(*expand, _conv_bn(hidden, hidden, 3, stride, hidden),
                                  *_conv_bn(hidden, cout, 1, relu=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def test_folding_a_torchvision_state_dict_keeps_its_output():
    """The first four blocks of torchvision's mobilenet_v2 (with batch norms, random statistics) and the
    folded trunk compute the same thing."""
    torch.manual_seed(0)
    features = nn.Sequential(_conv_bn(3, 32, 3, 2), _TorchvisionBlock(32, 16, 1, 1), _TorchvisionBlock(16, 24, 2, 6),
                             _TorchvisionBlock(24, 24, 1, 6))
    for m in features.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.normal_(0, 0.5)
            m.running_mean.normal_(0, 0.5)
            m.running_var.uniform_(0.2, 3)
    state = {f"features.{k}": v for k, v in features.eval().state_dict().items()}
    folded = backbone.fold_batchnorm(state)
    assert not any("running" in k or "num_batches" in k for k in folded)
    trunk = mobilenet_v2_features(blocks=4)
    trunk.load_state_dict({k.removeprefix("features."): v for k, v in folded.items()})
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(trunk.eval()(x), features(x), atol=1e-5)


def _quantized_tiny(path) -> nn.Module:
    """A quantized TorchScript file with torchvision's names: ``features.0.0`` conv+ReLU, ``classifier.1`` linear."""
    q = torch.ao.quantization

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant, self.dequant = q.QuantStub(), q.DeQuantStub()
            self.features = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU()))
            self.classifier = nn.Sequential(nn.Identity(), nn.Linear(8, 5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dequant(self.classifier(self.features(self.quant(x)).mean((2, 3))))

    torch.manual_seed(1)
    model = Tiny().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eager-mode quantization is deprecated, but still what made such files
        torch.backends.quantized.engine = "qnnpack"
        model.qconfig = q.get_default_qconfig("qnnpack")
        q.fuse_modules(model, [["features.0.0", "features.0.1"]], inplace=True)
        q.prepare(model, inplace=True)
        model(torch.randn(4, 3, 16, 16))
        q.convert(model, inplace=True)
        torch.jit.script(model).save(str(path))
    return model


def test_quantized_torchscript_is_dequantised_under_the_layers_names(tmp_path):
    model = _quantized_tiny(tmp_path / "q.pt")
    state = backbone.convert(tmp_path / "q.pt")
    assert sorted(state) == ["classifier.1.bias", "classifier.1.weight", "features.0.0.bias", "features.0.0.weight"]
    assert torch.equal(state["features.0.0.weight"], model.features[0][0].weight().dequantize())
    assert torch.equal(state["classifier.1.weight"], model.classifier[1].weight().dequantize())
    assert state["features.0.0.bias"].dtype == torch.float32


def test_a_backbone_file_loads_into_the_video_trunk(tmp_path):
    torch.manual_seed(2)
    source = {f"features.{k}": v for k, v in mobilenet_v2_features().state_dict().items()}
    backbone.save(tmp_path / "b.pt", source, "test@0:weights.pt (MIT)")
    net = PixelPlayerNet(PRESETS["real"])
    assert backbone.load_into(net.video.features, tmp_path / "b.pt") == "test@0:weights.pt (MIT)"
    assert all(torch.equal(v, source[f"features.{k}"]) for k, v in net.video.features.state_dict().items())
    backbone.save(tmp_path / "short.pt", {k: v for k, v in source.items() if not k.startswith("features.13.")}, "x")
    with pytest.raises(ValueError, match="lacks"):
        backbone.load_into(net.video.features, tmp_path / "short.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a backbone file"):
        backbone.load_into(net.video.features, tmp_path / "other.pt")
