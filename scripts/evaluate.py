"""Evaluate separation models on held-out duet and trio videos, through the engine's own click path.

    python scripts/evaluate.py SCENES [SCENES ...] [--make --duets 20 --trios 20] \\
        [--model lite=models/pixelplayer.pt --model paper=.cache/train/paper/model.pt] [--jobs 2] [--json OUT.json]

SCENES holds videos with ground-truth stems and boxes (``scripts/make_eval_scenes.py``; ``--make``
writes them when the folder has none). Per scene and model the video is analysed by a ``Separator``
and every sounding instrument is clicked at once (``Separator.isolate`` with one ``Point`` each, as
``pixelplayer separate VIDEO --point X,Y ...`` does). Scored on mono downmixes at the native rate:
SDR/SIR/SAR (``mir_eval.separation.bss_eval_sources``, no permutation) and SI-SDR per source, the
label the engine gives each stem, and the sound map against the boxes (share of the map's mass inside
the sounding instruments' boxes; pointing game: its peak inside one). Baselines: the mixture itself
(with a uniform map: the boxes' share of the frame) and the ideal ratio / binary mask oracles applied
through the engine's native STFT. Prints a Markdown table of medians (label accuracy and localization:
means), with SDRi: each source's SDR minus the mixture's SDR against that source (a click that
hands back the mixture scores 0, whatever the mix), the median over duets and trios together; the
picks' correlation (each stem's mean Pearson correlation with the scene's other stems: 1 when every
click hands back the same audio); the same two with each instrument clicked alone (lone SDRi, lone corr.:
one ``pixelplayer separate VIDEO --point X,Y`` per player, as a user who wants one stem clicks); and
for scenes with visible silent players the energy a lone click on one returns (dB relative to the
mixture; median). With ``--named`` each model also gets a row "NAME, named": every click carries its
instrument's name, as a user who corrects the names would (``--point X,Y=violin``). SCENES may be any folder with a ``scenes.json`` index: the synthetic
scenes or the real-material sets of ``python -m pixelplayer_blender.training.build eval``; given
several, every model is scored on each and each set gets its table, headed by the folder's name
(the JSON maps each folder's name to its table and per-source results).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import sys
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from mir_eval.separation import bss_eval_sources

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import make_eval_scenes  # noqa: E402
from pixelplayer_blender.core import media  # noqa: E402
from pixelplayer_blender.core.analysis import Analysis  # noqa: E402
from pixelplayer_blender.core.config import PRESETS  # noqa: E402
from pixelplayer_blender.core.separator import Separator  # noqa: E402
from pixelplayer_blender.core.spectral import NativeSTFT  # noqa: E402
from pixelplayer_blender.core.query import Point  # noqa: E402


@dataclass
class Scene:
    """One held-out video: its sidecar, ground-truth stems and decoded mixture."""

    folder: Path
    doc: dict
    stems: np.ndarray = field(repr=False)  # (sources, channels, samples) float32
    mixture: np.ndarray = field(repr=False)  # (channels, samples) decoded from the video

    @classmethod
    def load(cls, sidecar: Path) -> "Scene":
        doc = json.loads(sidecar.read_text())
        folder = sidecar.parent
        stems = np.stack([sf.read(folder / s["stem"], dtype="float32", always_2d=True)[0].T for s in doc["sources"]])
        mixture = media.decode_audio(folder / doc["video"])
        n = min(stems.shape[-1], mixture.shape[-1])
        return cls(folder, doc, stems[..., :n], mixture[:, :n])

    @property
    def video(self) -> Path:
        return self.folder / self.doc["video"]

    @property
    def kind(self) -> str:
        return {1: "solos", 2: "duets"}.get(len(self.doc["sources"]), "trios")

    def clicks(self, key: str = "sources") -> list[Point]:
        """Click points on the sounding instruments (``key="silent"``: on the visible silent ones)."""
        return [Point(s["click"]["x"], s["click"]["y"], time=s["click"]["time"]) for s in self.doc[key]]

    def boxes_at(self, t: float) -> list[np.ndarray]:
        """The sounding instruments' boxes in the video frame shown at ``t``."""
        frame = min(int(t * self.doc["fps"]), self.doc["frames"] - 1)
        return [np.asarray(s["boxes"][frame]) for s in self.doc["sources"]]


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR (dB) of mono signals."""
    scale = np.dot(estimate, reference) / max(np.dot(reference, reference), 1e-12)
    target = scale * reference
    return float(10 * np.log10(max(np.dot(target, target), 1e-12) / max(np.sum((estimate - target) ** 2), 1e-12)))


def pick_correlation(estimates: np.ndarray) -> list[float | None]:
    """Per ``(sources, samples)`` mono estimate, its mean Pearson correlation with the scene's other
    estimates: 1 where every pick hands back the same audio (the mixture), near 0 for distinct sources."""
    if len(estimates) < 2:
        return [None] * len(estimates)
    c = np.corrcoef(estimates)
    return [float((c[i].sum() - c[i, i]) / (len(c) - 1)) for i in range(len(c))]


def score(scene: Scene, estimates: np.ndarray) -> list[dict]:
    """Per-source BSS-eval and SI-SDR of ``(sources, channels, samples)`` estimates, on mono downmixes,
    and how much each resembles the others (:func:`pick_correlation`).

    A -140 dB dither keeps an all-silent estimate (the engine found no instrument) scorable: it then
    scores as the failure it is instead of stopping BSS-eval."""
    ref = scene.stems.mean(1).astype(np.float64)
    est = estimates[..., : ref.shape[-1]].mean(1).astype(np.float64)
    est += 1e-7 * np.random.default_rng(0).standard_normal(est.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # bss_eval_sources is deprecated in mir_eval 0.8
        sdr, sir, sar, _ = bss_eval_sources(ref, est, compute_permutation=False)
    return [{"sdr": float(a), "sir": float(b), "sar": float(c), "si_sdr": si_sdr(r, e), "pick_corr": k}
            for a, b, c, r, e, k in zip(sdr, sir, sar, ref, est, pick_correlation(est))]


def oracle(scene: Scene, binary: bool) -> np.ndarray:
    """Ideal ratio (``|S_i| / sum |S_j|``) or binary (loudest source) masks on the mixture's native STFT."""
    config = PRESETS["lite"]  # every preset shares the STFT sizes
    stft = NativeSTFT(scene.doc["sample_rate"], config.n_fft / config.sample_rate)
    samples = scene.mixture.shape[-1]
    frames = stft.frames(samples)
    mix = stft.analyse(torch.from_numpy(scene.mixture), 0, frames)
    mags = torch.stack([stft.analyse(torch.from_numpy(s), 0, frames).abs().sum(0) for s in scene.stems])
    if binary:
        masks = (mags == mags.amax(0, keepdim=True)).float()
    else:
        masks = mags / mags.sum(0, keepdim=True).clamp_min(1e-12)
    out = []
    for mask in masks:
        buffer = torch.zeros(mix.shape[0], (frames + 1) * stft.hop)
        stft.overlap_add(mix * mask, buffer, 0)
        out.append(buffer[:, stft.hop: stft.hop + samples].numpy())
    return np.stack(out)


def localization(scene: Scene, analysis: Analysis | None) -> dict:
    """Sound-map mass inside the sounding boxes and pointing-game hits, over the analysed frames.

    Without an analysis the map is uniform: the mass is the boxes' share of the frame."""
    w, h = scene.doc["width"], scene.doc["height"]
    times = np.arange(0.5, scene.doc["duration"], 1.0) if analysis is None else analysis.frame_times.ravel()
    mass, hits = [], []
    for t in times:
        grid = (16, 16) if analysis is None else analysis.sound_map(t).shape
        ys, xs = (np.arange(grid[0]) + 0.5) * h / grid[0], (np.arange(grid[1]) + 0.5) * w / grid[1]
        inside = np.zeros(grid, bool)
        for x0, y0, x1, y1 in scene.boxes_at(float(t)):
            inside |= ((ys >= y0) & (ys < y1))[:, None] & ((xs >= x0) & (xs < x1))[None]
        sound = np.ones(grid) if analysis is None else analysis.sound_map(t).astype(np.float64)
        mass.append(float((sound * inside).sum() / max(sound.sum(), 1e-12)))
        if analysis is not None:
            hits.append(bool(inside.flat[int(sound.argmax())]))
    return {"map_in_boxes": float(np.mean(mass)), "pointing": float(np.mean(hits)) if hits else None}


def lone_stems(separator: Separator, analysis: Analysis, clicks: list[Point]) -> list[np.ndarray]:
    """What each click returns when it is the only one (one ``pixelplayer separate VIDEO --point X,Y`` each)."""
    return [separator.isolate(analysis, [click]).sources[0].audio for click in clicks]


def silent_click_db(separator: Separator, analysis: Analysis, scene: Scene) -> list[float]:
    """Energy (dB relative to the mixture) of what a lone click on each visible silent player returns."""
    mixture = float(np.sum(scene.mixture.astype(np.float64) ** 2))
    return [float(10 * np.log10(max(float(np.sum(audio.astype(np.float64) ** 2)), 1e-20) / max(mixture, 1e-20)))
            for audio in lone_stems(separator, analysis, scene.clicks("silent"))]


def evaluate_model(separator: Separator, scene: Scene) -> tuple[list[dict], dict]:
    """Every sounding instrument clicked at once, and each clicked alone (``lone_sdr``, ``lone_corr``: as one
    ``pixelplayer separate VIDEO --point X,Y`` per player), then the map and the silent players' clicks."""
    analysis, clicks = separator.analyze(scene.video), scene.clicks()
    separation = separator.isolate(analysis, clicks)
    estimates = np.stack([s.audio for s in separation.sources])
    results = score(scene, estimates)
    alone = results if len(clicks) == 1 else score(scene, np.stack(lone_stems(separator, analysis, clicks)))
    for r, lone, stem, truth in zip(results, alone, separation.sources, scene.doc["sources"]):
        r.update(label=stem.label, truth=truth["name"], lone_sdr=lone["sdr"], lone_corr=lone["pick_corr"])
        if truth.get("label", 0) >= 0:  # real clips of instruments outside the vocabulary carry label -1
            r.update(correct=stem.label == truth["name"])
    return results, {**localization(scene, analysis), "silent_db": silent_click_db(separator, analysis, scene)}


def evaluate_named(separator: Separator, scene: Scene) -> list[dict]:
    """Every sounding instrument clicked at once and named, as ``--point X,Y=NAME`` does (names the model
    does not know stay unnamed)."""
    known = {name.lower() for name in separator.model.metadata.get("prototypes", {})}
    clicks = [replace(c, name=s["name"] if s["name"].lower() in known else None)
              for c, s in zip(scene.clicks(), scene.doc["sources"])]
    separation = separator.isolate(separator.analyze(scene.video), clicks)
    results = score(scene, np.stack([s.audio for s in separation.sources]))
    for r, stem, truth in zip(results, separation.sources, scene.doc["sources"]):
        r.update(label=stem.label, truth=truth["name"])
    return results


def ensure_scenes(folder: Path, duets: int, trios: int, make: bool) -> list[Path]:
    index = folder / "scenes.json"
    if not index.exists():
        if not make:
            raise SystemExit(f"{folder} holds no scenes.json: write scenes with --make")
        make_eval_scenes.main([str(folder), "--duets", str(duets), "--trios", str(trios)])
    return [folder / name for name in json.loads(index.read_text())["scenes"]]


_WORKER: dict = {}


def _start_worker(models: list[tuple[str, str | None]], threads: int, cache: str, oracles: bool,
                  named: bool) -> None:
    torch.set_num_threads(threads)
    _WORKER.update(oracles=oracles, named=named,
                   separators=[(name, Separator(checkpoint=path, threads=threads, cache_dir=cache))
                               for name, path in models])


def evaluate_scene(sidecar: Path) -> tuple[str, list[tuple[str, list[dict], dict | None]]]:
    """Every method's per-source results and localization on one scene."""
    scene = Scene.load(sidecar)
    mixture = score(scene, np.repeat(scene.mixture[None], len(scene.stems), 0))
    out: list[tuple[str, list[dict], dict | None]] = []
    if _WORKER["oracles"]:
        out.append(("mixture (no separation; uniform map)", mixture, localization(scene, None)))
        out.append(("ideal ratio mask (oracle)", score(scene, oracle(scene, binary=False)), None))
        out.append(("ideal binary mask (oracle)", score(scene, oracle(scene, binary=True)), None))
    for name, separator in _WORKER["separators"]:
        out.append((name, *evaluate_model(separator, scene)))
        if _WORKER["named"]:
            out.append((f"{name}, named", evaluate_named(separator, scene), None))
    for _, results, _ in out:
        for r, unmixed in zip(results, mixture):
            r.update(scene=scene.video.name, sdri=r["sdr"] - unmixed["sdr"])
            if "lone_sdr" in r:
                r.update(lone_sdri=r["lone_sdr"] - unmixed["sdr"])
    return scene.kind, out


def summarise(rows: dict[str, dict]) -> str:
    """The Markdown table: medians of SDR/SIR/SAR/SI-SDR per scene kind, of SDRi over both and the picks'
    correlation (all clicked at once, then each alone), label accuracy, localization, and the median energy a
    click on a silent player returns (dB relative to the mixture)."""
    head = ("| method | duet SDR | duet SIR | duet SAR | duet SI-SDR | trio SDR | trio SIR | trio SAR | trio SI-SDR "
            "| SDRi | pick corr. | lone SDRi | lone corr. | label acc. | map in boxes | pointing | silent click |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, row in rows.items():
        cells = [name]
        for kind in ("duets", "trios"):
            sources = row["sources"].get(kind, [])
            for metric in ("sdr", "sir", "sar", "si_sdr"):
                cells.append(f"{np.median([s[metric] for s in sources]):.2f}" if sources else "–")
        every = [s for kind in row["sources"].values() for s in kind]
        for sdri, corr in (("sdri", "pick_corr"), ("lone_sdri", "lone_corr")):
            mixed = [s[sdri] for kind in ("duets", "trios") for s in row["sources"].get(kind, []) if sdri in s]
            cells.append(f"{np.median(mixed):.2f}" if mixed else "–")  # a solo's "mixture" is itself
            picks = [s[corr] for s in every if s.get(corr) is not None]
            cells.append(f"{np.median(picks):.2f}" if picks else "–")
        labelled = [s["correct"] for s in every if "correct" in s]
        cells.append(f"{100 * np.mean(labelled):.0f} %" if labelled else "–")
        loc = row["localization"]
        cells.append(f"{np.mean([m['map_in_boxes'] for m in loc]):.2f}" if loc else "–")
        pointing = [m["pointing"] for m in loc if m["pointing"] is not None]
        cells.append(f"{100 * np.mean(pointing):.0f} %" if pointing else "–")
        silent = [db for m in loc for db in m.get("silent_db", [])]
        cells.append(f"{np.median(silent):.1f} dB" if silent else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenes", type=Path, nargs="+")
    p.add_argument("--make", action="store_true", help="write the scenes when the folder has none")
    p.add_argument("--duets", type=int, default=20)
    p.add_argument("--trios", type=int, default=20)
    p.add_argument("--model", action="append", default=[], metavar="NAME=CHECKPOINT",
                   help="a model to evaluate (repeatable; default: the bundled one)")
    p.add_argument("--no-oracles", action="store_true", help="skip the mixture and oracle baselines")
    p.add_argument("--named", action="store_true",
                   help="also score each model with every click named after its instrument (NAME, named)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--jobs", type=int, default=1, help="scenes evaluated in parallel processes")
    p.add_argument("--json", type=Path, help="write every per-source result here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if len({folder.name for folder in args.scenes}) < len(args.scenes):
        raise SystemExit("scene folders must have distinct names: they name the tables")
    sets = [(folder, sidecar) for folder in args.scenes
            for sidecar in ensure_scenes(folder, args.duets, args.trios, args.make)]
    sidecars = [sidecar for _, sidecar in sets]
    models = [m.split("=", 1) for m in args.model] or [["default", None]]
    rows: dict[str, dict[str, dict]] = {folder.name: {} for folder in args.scenes}
    with tempfile.TemporaryDirectory() as cache, contextlib.ExitStack() as stack:
        init = (models, args.threads, cache, not args.no_oracles, args.named)
        if args.jobs > 1:
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(args.jobs, _start_worker, init))
            done = pool.imap(evaluate_scene, sidecars)
        else:
            _start_worker(*init)
            done = map(evaluate_scene, sidecars)
        for i, ((folder, sidecar), (kind, methods)) in enumerate(zip(sets, done)):
            for name, results, loc in methods:
                row = rows[folder.name].setdefault(name, {"sources": {}, "localization": []})
                row["sources"].setdefault(kind, []).extend(results)
                if loc is not None:
                    row["localization"].append(loc)
            print(f"[{i + 1}/{len(sets)}] {folder.name}/{sidecar.stem}", file=sys.stderr, flush=True)
    report = {}
    for folder in args.scenes:
        methods = rows[folder.name]
        baselines = [n for n in methods if "oracle" in n or "mixture" in n]
        table = summarise({n: methods[n] for n in [*(n for n in methods if n not in baselines), *baselines]})
        scenes = sum(folder == f for f, _ in sets)
        print(f"### {folder.name} ({scenes} scenes)\n\n{table}\n")
        report[folder.name] = {"table": table, "results": methods}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return rows


if __name__ == "__main__":
    main()
