"""scripts/convert_eyes.py: a torchvision mobilenet_v2 state dict and ImageNet's class names become eyes."""
from __future__ import annotations

import pytest
import torch

import convert_eyes
from pixelplayer_blender.core.checkpoint import load_checkpoint
from pixelplayer_blender.core.eyes import N_CLASSES, SEEN_AS, class_map
from pixelplayer_blender.core.nets import mobilenet_v2_features


@pytest.fixture
def imagenet(tmp_path):
    """A float mobilenet_v2 state dict in torchvision's keys (random weights) and 1000 class names."""
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in mobilenet_v2_features().state_dict().items()}
    state["classifier.1.weight"] = torch.randn(N_CLASSES, 1280) * 0.01
    state["classifier.1.bias"] = torch.randn(N_CLASSES)
    torch.save(state, tmp_path / "mobilenet_v2.pth")
    seen = sorted({name for names in SEEN_AS.values() for name in names})
    classes = seen + [f"class {i}" for i in range(N_CLASSES - len(seen))]
    (tmp_path / "words.txt").write_text("\n".join(classes) + "\n")
    return state, classes


def test_the_eyes_are_imagenet_s_classifier_per_cell(imagenet, bundled_without, tmp_path):
    state, classes = imagenet
    blind = bundled_without("eyes", eyes="")
    convert_eyes.main([str(tmp_path / "mobilenet_v2.pth"), str(tmp_path / "words.txt"), str(blind),
                       str(tmp_path / "out.pt"), "--source", "test@0:mobilenet_v2.pth (BSD)"])
    model = load_checkpoint(tmp_path / "out.pt")
    assert model.metadata["eyes_source"] == "test@0:mobilenet_v2.pth (BSD)" and model.net.config.eyes == "imagenet"
    labels = model.net.config.labels
    assert torch.allclose(model.net.eyes.classes.float(), class_map(labels, classes), atol=1e-3)
    frames = torch.randint(0, 256, (1, 3, 64, 96), dtype=torch.uint8)
    trunk = mobilenet_v2_features()
    trunk.load_state_dict({k.removeprefix("features."): v.half().float() for k, v in state.items()
                           if k.startswith("features.")})
    x = trunk((frames.float() / 255 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
              / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))  # (1, 1280, 2, 3)
    weight, bias = state["classifier.1.weight"].half().float(), state["classifier.1.bias"].half().float()
    cells = torch.softmax(torch.einsum("bchw,kc->bkhw", x, weight) + bias[None, :, None, None], 1)
    expected = torch.einsum("bkhw,kl->blhw", cells, class_map(labels, classes))
    with torch.no_grad():
        assert torch.allclose(model.net.eyes.float()(frames), expected, atol=2e-3)


def test_a_class_list_that_is_not_imagenet_s_is_refused(imagenet, bundled_without, tmp_path):
    (tmp_path / "short.txt").write_text("violin, fiddle\n")
    with pytest.raises(SystemExit, match="not ImageNet's 1000"):
        convert_eyes.main([str(tmp_path / "mobilenet_v2.pth"), str(tmp_path / "short.txt"),
                           str(bundled_without("eyes", eyes="")), str(tmp_path / "out.pt"), "--source", "x"])
