"""Give a checkpoint ImageNet's eyes: MobileNetV2 whole, with its 1000-way classifier (``core/eyes.py``).

    python scripts/convert_eyes.py mobilenet_quantized.pt words.txt CHECKPOINT OUT --source "REPO@COMMIT:PATH (LICENCE)"

INPUT is torchvision's quantized ``mobilenet_v2`` as TorchScript (dequantised here) or a float
torchvision ``mobilenet_v2`` state dict, as for ``convert_backbone.py``; the class names are
ImageNet's 1000, one per line in the classifier's order.  OUT is CHECKPOINT with ``eyes="imagenet"``:
the weights, and which ImageNet classes each of its instrument names is seen as
(``core/eyes.py: SEEN_AS``).  The shipped model's eyes came from
pytorch/ios-demo-app@b8f52b772b98a48f4d3bb14e8eb977724a66836b:PyTorchDemo/PyTorchDemo/ImageClassification/model/
mobilenet_quantized.pt and words.txt beside it (BSD-style licence), the file its video trunk started from.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a plain checkout
from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from pixelplayer_blender.core.eyes import N_CLASSES, class_map  # noqa: E402
from pixelplayer_blender.core.nets import PixelPlayerNet  # noqa: E402
from pixelplayer_blender.training import backbone  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", type=Path, help="quantized TorchScript file or torchvision state dict")
    parser.add_argument("classes", type=Path, help="ImageNet's class names, one per line")
    parser.add_argument("checkpoint", type=Path, help="a checkpoint with a label head")
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", required=True, help="where the weights came from, and their licence")
    args = parser.parse_args(argv)
    model = load_checkpoint(args.checkpoint)
    if not model.net.config.labels:
        raise SystemExit(f"{args.checkpoint} names no instruments: eyes have nothing to see")
    classes = [line.strip() for line in args.classes.read_text().splitlines() if line.strip()]
    if len(classes) != N_CLASSES:
        raise SystemExit(f"{args.classes} lists {len(classes)} classes, not ImageNet's {N_CLASSES}")
    state = backbone.convert(args.weights)
    net = PixelPlayerNet(dataclasses.replace(model.net.config, eyes="imagenet"))
    net.load_state_dict(model.net.state_dict(), strict=False)
    net.eyes.trunk.load_state_dict(backbone.under(state, "features."))
    net.eyes.classifier.load_state_dict(backbone.under(state, "classifier.1."))
    net.eyes.classes.copy_(class_map(net.config.labels, classes))
    save_checkpoint(args.out, net, {**model.metadata, "eyes_source": args.source})
    seen = int((net.eyes.classes.sum(1) > 0).sum())
    print(f"wrote {args.out}: {len(net.config.labels)} names seen as {seen} ImageNet classes")


if __name__ == "__main__":
    main()
