"""Convert ImageNet MobileNetV2 weights into a backbone file for ``train.py --backbone``.

    python scripts/convert_backbone.py mobilenet_quantized.pt backbone.pt --source "REPOSITORY@COMMIT:PATH (LICENCE)"

The ``real`` preset's trunk was converted from pytorch/ios-demo-app@b8f52b772b98a48f4d3bb14e8eb977724a66836b:
PyTorchDemo/PyTorchDemo/ImageClassification/model/mobilenet_quantized.pt (BSD-style licence).

INPUT is torchvision's quantized ``mobilenet_v2`` as TorchScript (dequantised here) or a float
torchvision ``mobilenet_v2`` state dict (its batch norms folded into the convolutions here).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a plain checkout

from pixelplayer_blender.training import backbone  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="quantized TorchScript file or torchvision state dict")
    p.add_argument("out", type=Path, help="backbone file to write")
    p.add_argument("--source", help="provenance recorded in the file and in every checkpoint trained from it "
                                    "(default: the input's name)")
    args = p.parse_args(argv)
    state = backbone.convert(args.input)
    backbone.save(args.out, state, args.source or args.input.name)
    print(f"{args.out}: {len(state)} tensors, {sum(v.numel() for v in state.values()) / 1e6:.2f} M weights")


if __name__ == "__main__":
    main()
