"""Build the real-footage corpus from the manifest (``sources.toml``):

    python -m pixelplayer_blender.training.build extract RAW [--mirrors DIR]
    python -m pixelplayer_blender.training.build solos RAW OUT [--count 3000] [--sizes 160 224] [--workers 2]
    python -m pixelplayer_blender.training.build eval RAW OUT [--sets NAME ...] [--duets 20] [--trios 20]

``extract`` copies each repository source's used files from its bare snapshot
(``DIR/owner+name/repo``, as the ``fetch`` tool leaves them) to ``RAW/owner+name/``; ``solos``
renders a training solo cache (``cache.SoloCache``) of photo solos with real sound from the train
sources in RAW; ``eval`` writes the evaluation sets (``evalsets``) into ``OUT/<set>/``:

- heldout-soundfont: the held-out soundfont (TimGM6mb) heard, train photos seen;
- heldout-library: the held-out NSynth notes heard, train photos seen;
- heldout-photos: the held-out photos seen, train sounds heard (new phrases);
- real-dev: real solo clips (MUSIC) side by side as duets and trios;
- real-dev-silent: a real solo beside a visible but silent real player (its map share on the sounding
  player and the energy a click on the silent one returns).
"""

from __future__ import annotations

import argparse
import collections
import logging
from pathlib import Path

from .cache import SoloCache
from .instruments import NAMES
from .sources import by_name, extract, read_manifest

EVAL_SETS = ("heldout-soundfont", "heldout-library", "heldout-photos", "real-dev", "real-dev-silent")


def extract_all(raw: Path, mirrors: Path) -> None:
    for source in read_manifest():
        if source.repo:
            files = extract(source, mirrors / source.folder_name / "repo", raw)
            print(f"{source.name} ({source.role}): {len(files)} files",
                  dict(collections.Counter(files.values())), flush=True)


def write_eval_set(name: str, raw: Path, out: Path, duets: int, trios: int) -> None:
    """Write evaluation set ``name`` (one of ``EVAL_SETS``) into ``out/name``."""
    from . import evalsets
    from .realsolo import Sounds, names_of, photo_bank

    sources = read_manifest()
    folder = out / name
    if name.startswith("real-dev"):
        clips = [c for s in sources if s.kind == "clips" for c in evalsets.read_clips(raw, s)]
        scenes = []
        kinds = (("silent", 2, duets),) if name == "real-dev-silent" else (("duet", 2, duets), ("trio", 3, trios))
        for kind, size, count in kinds:
            for seed, group in enumerate(evalsets.clip_groups(clips, size, count, seed=size + len(kind))):
                heard = group[:1] if kind == "silent" else group
                scenes.append((f"{kind}_{seed:04d}", evalsets.clip_scene(seed, heard, group[len(heard):])))
        about = {"set": name, "clips": len(clips), "sources": [by_name(s.name, sources).origin
                                                               for s in sources if s.kind == "clips"]}
        evalsets.write_set(folder, scenes, about)
        return
    heard, seen = {
        "heldout-soundfont": (["timgm6mb"], names_of("train", ("photos",), sources)),
        "heldout-library": (["nsynth-test"], names_of("train", ("photos",), sources)),
        "heldout-photos": (names_of("train", ("notes", "soundfont"), sources), ["jray8-photos"]),
    }[name]
    sounds = Sounds(raw, heard, 44100, persist=False, sources=sources)
    photos = photo_bank(raw, seen, sources)
    labels = sorted(set(sounds.labels) & set(photos.classes()))
    stream = EVAL_SETS.index(name) + 1
    scenes = [(f"{'duet' if n == 2 else 'trio'}_{seed:04d}",
               evalsets.photo_scene(seed, n, sounds, photos, labels, stream))
              for n, count in ((2, duets), (3, trios)) for seed in range(count)]
    about = {"set": name, "heard": [by_name(s, sources).origin for s in heard],
             "seen": [by_name(s, sources).origin for s in seen], "classes": [NAMES[k] for k in labels]}
    evalsets.write_set(folder, scenes, about)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("extract")
    p.add_argument("raw", type=Path)
    p.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    p = commands.add_parser("solos")
    p.add_argument("raw", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--sizes", type=int, nargs="+", default=[160, 224])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p = commands.add_parser("eval")
    p.add_argument("raw", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--sets", nargs="+", choices=EVAL_SETS, default=list(EVAL_SETS))
    p.add_argument("--duets", type=int, default=20)
    p.add_argument("--trios", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.command == "extract":
        extract_all(args.raw, args.mirrors)
    elif args.command == "solos":
        cache = SoloCache.ensure(args.out, args.count, args.sizes, args.seed, workers=args.workers, real=args.raw)
        print(f"{len(cache)} solos in {args.out}")
    else:
        for name in args.sets:
            write_eval_set(name, args.raw, args.out, args.duets, args.trios)


if __name__ == "__main__":
    main()
