"""Write held-out duet and trio scenes (mp4 + stems + JSON sidecars) and an index of them.

    python scripts/make_eval_scenes.py OUT --duets 20 --trios 20 [--size 640x360] [--soundfont PATH]

Another General MIDI soundfont (e.g. TimGM6mb) gives timbres the model never trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pixelplayer_blender.training import SOUNDFONT, NoteBank  # noqa: E402
from pixelplayer_blender.training.scenes import compose_scene, write_scene  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--duets", type=int, default=20)
    parser.add_argument("--trios", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="first scene seed")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--soundfont", default=SOUNDFONT)
    parser.add_argument("--silent-prob", type=float, default=0.25, help="chance of an extra, silent instrument")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    bank = NoteBank(args.sample_rate, args.soundfont, persist=False)
    index = []
    for n_sources, count in ((2, args.duets), (3, args.trios)):
        for seed in range(args.seed, args.seed + count):
            scene = compose_scene(seed, n_sources, width, height, args.fps, args.duration, bank, args.silent_prob)
            name = f"{'duet' if n_sources == 2 else 'trio'}_{seed:04d}"
            index.append(write_scene(scene, args.out, name).name)
            print(name, ", ".join(s.name for s in scene.sources), flush=True)
    (args.out / "scenes.json").write_text(json.dumps({"soundfont": args.soundfont, "scenes": index}, indent=1))


if __name__ == "__main__":
    main()
