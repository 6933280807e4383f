"""Give a checkpoint YAMNet's AudioSet tagger, converted from its TFLite file (tfhub ``yamnet/1``).

    python scripts/convert_yamnet.py yamnet.tflite yamnet_class_map.csv CHECKPOINT OUT \
        --source "REPO@COMMIT:PATH (Apache-2.0)" --sounds RAW

OUT is CHECKPOINT with ``tagger="yamnet"``: the converted weights, which AudioSet classes each of
its instrument names is heard as (``core/audiotag.py: HEARD_AS``) and, with ``--sounds``, how
clearly each is usually heard in mixtures of the training recordings (``training/hearing.py``).  The shipped model's
tagger came from Dhiveej/Aranyadhwani@77db24fcbe31c06f30801c958fb812e6a3d827a7:yamnet.tflite
(Apache-2.0) and leekh3/Infant-Crying-Detection@e3b9f2fffdb9198cbd14ba3f8e696c75908c6b94:yamnet_class_map.csv.

Development-time only: it needs the ``tflite`` flatbuffer schema package (``pip install tflite``).
The graph is read op by op: its first FULLY_CONNECTED is the mel matrix (its bias the log offset),
then come the first CONV_2D and 13 DEPTHWISE_CONV_2D/CONV_2D pairs (batch norms already folded in),
then the classifier's FULLY_CONNECTED.  Int8 weights (dynamic-range quantisation) are dequantised
with their per-tensor or per-channel scales and zero points.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelplayer_blender.core.audiotag import LOG_OFFSET, N_CLASSES, WINDOW, YAMNet, class_map  # noqa: E402
from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from pixelplayer_blender.core.nets import PixelPlayerNet  # noqa: E402
from pixelplayer_blender.training.hearing import hear_checkpoint, report  # noqa: E402

_DTYPES = {"FLOAT32": np.float32, "INT8": np.int8, "INT32": np.int32}


class Graph:
    """The constant tensors and the weighted ops, in order, of a single-subgraph TFLite model."""

    def __init__(self, path: Path) -> None:
        import tflite

        self.model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
        self.graph = self.model.Subgraphs(0)
        ops = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        self._types = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
        self.ops: list[tuple[str, list[int]]] = []
        for i in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(i)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            name = ops[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            self.ops.append((name, list(op.InputsAsNumpy())))

    def constant(self, index: int) -> np.ndarray:
        """A constant tensor, dequantised to float32 if it is int8."""
        tensor = self.graph.Tensors(index)
        kind = self._types[tensor.Type()]
        data = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(data, int):  # no data: not a constant
            raise ValueError(f"tensor {tensor.Name().decode()} has no data")
        array = np.frombuffer(data.tobytes(), _DTYPES[kind]).reshape(tensor.ShapeAsNumpy())
        if kind != "INT8":
            return array.astype(np.float32)
        q = tensor.Quantization()
        shape = [1] * array.ndim
        shape[q.QuantizedDimension() if q.ScaleLength() > 1 else 0] = -1
        scale = q.ScaleAsNumpy().reshape(shape)
        zero = q.ZeroPointAsNumpy().reshape(shape) if q.ZeroPointLength() else 0
        return ((array.astype(np.float32) - zero) * scale).astype(np.float32)

    def weighted(self, name: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight, bias) of every op of that kind, in graph order."""
        return [(self.constant(inputs[1]), self.constant(inputs[2])) for op, inputs in self.ops if op == name]

    def window(self) -> np.ndarray:
        """The analysis window: the constant multiplied into the 400-sample frames."""
        for op, inputs in self.ops:
            if op == "MUL":
                for i in inputs:
                    if list(self.graph.Tensors(i).ShapeAsNumpy()) == [WINDOW]:
                        return self.constant(i)
        raise ValueError("no window found in the graph")


def convert(graph: Graph) -> dict[str, torch.Tensor]:
    """The :class:`YAMNet` state dict (float32) from the graph's weights."""
    (mel, offset), (dense, dense_bias) = graph.weighted("FULLY_CONNECTED")
    convs = graph.weighted("CONV_2D")
    depthwise = graph.weighted("DEPTHWISE_CONV_2D")
    net = YAMNet()
    if not np.allclose(offset, LOG_OFFSET):
        raise ValueError(f"mel bias {offset[:3]} is not the log offset {LOG_OFFSET}")
    if not np.allclose(graph.window(), net.window.numpy(), atol=1e-6):
        raise ValueError("the graph's window is not a periodic Hann window")
    if len(convs) != len(depthwise) + 1 or dense.shape[0] != N_CLASSES:
        raise ValueError(f"unexpected layout: {len(convs)} convs, {len(depthwise)} depthwise, {dense.shape}")
    ohwi = [w.transpose(0, 3, 1, 2) for w, _ in convs]  # TFLite OHWI -> torch OIHW
    dw = [w.transpose(3, 0, 1, 2) for w, _ in depthwise]  # TFLite 1HWC -> torch C1HW
    weights = [ohwi[0]] + [w for pair in zip(dw, ohwi[1:]) for w in pair]
    biases = [convs[0][1]] + [b for pair in zip(depthwise, convs[1:]) for b in (pair[0][1], pair[1][1])]
    state = {"mel": mel, "classifier.weight": dense, "classifier.bias": dense_bias}
    modules = [net.stem, *net.trunk]
    names = {m: n for n, m in net.named_modules()}
    for module, w, b in zip(modules, weights, biases):
        state[f"{names[module]}.weight"], state[f"{names[module]}.bias"] = w, b
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    net.load_state_dict(state)  # checks every name and shape
    return state


def read_classes(path: Path) -> list[str]:
    """Display names from YAMNet's ``yamnet_class_map.csv`` (index, mid, display_name), in index order."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(float(r["index"])))
    if [int(float(r["index"])) for r in rows] != list(range(N_CLASSES)):
        raise ValueError(f"{path} does not list classes 0..{N_CLASSES - 1}")
    return [r["display_name"] for r in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tflite", type=Path)
    parser.add_argument("class_map", type=Path)
    parser.add_argument("checkpoint", type=Path, help="a checkpoint with a label head")
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", required=True, help="where the TFLite file came from, and its licence")
    parser.add_argument("--sounds", type=Path, metavar="RAW",
                        help="the extracted training sources: set each instrument's usual level from them")
    args = parser.parse_args(argv)
    model = load_checkpoint(args.checkpoint)
    if not model.net.config.labels:
        raise SystemExit(f"{args.checkpoint} names no instruments: a tagger has nothing to hear")
    net = PixelPlayerNet(dataclasses.replace(model.net.config, tagger="yamnet"))
    net.load_state_dict(model.net.state_dict(), strict=False)
    net.heard.yamnet.load_state_dict(convert(Graph(args.tflite)))
    net.heard.classes.copy_(class_map(net.config.labels, read_classes(args.class_map)))
    save_checkpoint(args.out, net, {**model.metadata, "tagger_source": args.source})
    print(f"wrote {args.out}: {len(net.config.labels)} names heard as "
          f"{int(net.heard.classes.sum())} AudioSet classes")
    if args.sounds is not None:
        print(report(hear_checkpoint(args.out, args.sounds, args.out)))


if __name__ == "__main__":
    main()
