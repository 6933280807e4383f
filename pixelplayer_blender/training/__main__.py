"""Look at and time the synthetic solos:

    python -m pixelplayer_blender.training OUT [--count 24] [--seed 0] [--size 128]

writes OUT/solos.png (each row: one solo's frames with its box in red; silent ones in blue),
OUT/solo_SEED_NAME.wav, and prints the mean generation time per solo.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

from .instruments import INSTRUMENTS, NAMES
from .solo import SoloGenerator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    generator = SoloGenerator(image_size=args.size)
    for instrument in INSTRUMENTS:  # fill the note cache before timing
        for voice in instrument.voices:
            generator.bank.table(voice)
    start = time.perf_counter()
    solos = [generator.render(seed) for seed in range(args.seed, args.seed + args.count)]
    elapsed = (time.perf_counter() - start) / args.count
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed, solo in enumerate(solos, args.seed):
        tiles = []
        for frame, box in zip(solo.frames, solo.boxes):
            tile = Image.fromarray(frame)
            ImageDraw.Draw(tile).rectangle(tuple(box), outline=(0, 0, 255) if solo.silent else (255, 0, 0))
            tiles.append(np.asarray(tile))
        rows.append(np.hstack(tiles))
        sf.write(args.out / f"solo_{seed:04d}_{NAMES[solo.label]}.wav", solo.audio, generator.sample_rate)
    Image.fromarray(np.vstack(rows)).save(args.out / "solos.png")
    print(f"{elapsed * 1000:.1f} ms per solo ({args.size}px, {generator.n_frames} frames, {generator.n_samples} samples)")


if __name__ == "__main__":
    main()
