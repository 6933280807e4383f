"""Speed and memory benchmark of the separator, side by side with HTDemucs.

On generated clips (cached under ``--cache``) it measures, in one run:
  * analysis of the main clip with an empty cache, decode included, as a multiple of real time,
    with the time spent under each progress message;
  * click-to-stem latency once analysed: the median over ``--clicks`` single-point isolations;
  * two clicks named (``--point X,Y=NAME``): tuned to the clip by ear the first time (every name, even one
    the tagger does not hear there: the worst case), then again; then, alternating, with and without the
    model's refit of clicks isolated together, as the ratio of their median times;
  * HTDemucs's forward pass over the same audio at 44.1 kHz (random weights, decode and
    resampling not counted), extrapolated by segments from its first ``--htdemucs-seconds``;
  * peak RSS of a fresh process that analyses a long clip and isolates one click, for each of
    :data:`MEMORY_CASES` (a concert-length small clip and a 1080p one), against its budget.
Wall times are the headline figures; process CPU times ride along, as they move less when
other work shares the machine.  Human-readable lines go to stderr; the last stdout line is
one JSON object.

    python scripts/bench.py                      # 3 min 1280x720 30 fps clip + the long memory clips
    python scripts/bench.py --seconds 12 --memory-scale 0.01 --htdemucs-seconds 4
    python scripts/bench.py --memory-only        # only the long clips' peak RSS
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout too

import clipgen  # noqa: E402  (sits beside this script)
from pixelplayer_blender.core import eartune, media  # noqa: E402
from pixelplayer_blender.core.separator import Separator  # noqa: E402
from pixelplayer_blender.core.query import Point  # noqa: E402

# Issue 2's targets on a 2-core machine (for the default 3-minute clip).
TARGETS = {
    "realtime_factor": lambda v: v >= 20.0,
    "vs_htdemucs": lambda v: v >= 10.0,
    "click_latency_s": lambda v: v <= 0.3,
}
# Issue 15's memory targets: (name, seconds, width, height, peak RSS budget in MB) of analysing
# a clip and isolating one click in a fresh process.
MEMORY_CASES = [
    ("60min_320x240", 3600.0, 320, 240, 2048.0),
    ("10min_1920x1080", 600.0, 1920, 1080, 1024.0),
]
SEGMENT_SECONDS = 60.0  # clips longer than this loop a generated segment of this length


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_clip(cache: Path, seconds: float, args: argparse.Namespace, size: tuple[int, int] | None = None) -> Path:
    """The generated clip of ``seconds`` (and ``size``, default ``--width`` x ``--height``) with the
    requested format, written once per cache."""
    width, height = size or (args.width, args.height)
    path = cache / (f"clip_{seconds:g}s_{width}x{height}_{args.fps}fps_"
                    f"{args.sample_rate}hz_{args.channels}ch.mp4")
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.mp4")
        start = time.perf_counter()
        if seconds > SEGMENT_SECONDS:  # a long clip repeats a generated minute, copied without re-encoding
            segment = ensure_clip(cache, SEGMENT_SECONDS, args, (width, height))
            clipgen.loop_clip(segment, partial, math.ceil(seconds / SEGMENT_SECONDS))
        else:
            clipgen.write_clip(partial, seconds=seconds, width=width, height=height, fps=args.fps,
                               sample_rate=args.sample_rate, channels=args.channels)
        os.replace(partial, path)
        log(f"generated {path.name} in {time.perf_counter() - start:.1f} s")
    return path


def clicks(width: int, height: int, duration: float, count: int) -> list[Point]:
    """``count`` distinct points across the frame's middle row, at times spread over the clip."""
    return [Point(width * (i + 1) / (count + 1), height / 2, time=duration * (i + 0.5) / count)
            for i in range(count)]


class StageClock:
    """A progress callback adding up the wall time spent under each progress message."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def __call__(self, fraction: float, message: str) -> None:
        now = time.perf_counter()
        if self._current:
            name, since = self._current
            self.stages[name] = self.stages.get(name, 0.0) + now - since
        self._current = message, now


def separator(args: argparse.Namespace) -> Separator:
    return Separator(checkpoint=args.checkpoint, threads=args.threads, cache_dir=args.cache_dir)


def measure_analysis(path: Path, args: argparse.Namespace) -> dict:
    """Load, analyse (empty cache) and click; times in seconds."""
    start = time.perf_counter()
    sep = separator(args)
    load_s = time.perf_counter() - start
    clock = StageClock()
    start, start_cpu = time.perf_counter(), time.process_time()
    analysis = sep.analyze(path, progress=clock)
    analysis_s, analysis_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    info = analysis.info
    latencies = []
    for point in clicks(info.video.width, info.video.height, info.duration, args.clicks):
        start = time.perf_counter()
        sep.isolate(analysis, [point])
        latencies.append(time.perf_counter() - start)
    names = sorted(sep.model.metadata.get("prototypes", {}))[:2]
    named = [replace(p, name=n) for p, n in zip(clicks(info.video.width, info.video.height, info.duration, 2), names)]
    named_s = [math.nan, math.nan]  # a model without prototypes follows no names
    floor, eartune.HEARD = eartune.HEARD, 0.0  # every name tuned, heard or not: the worst case
    try:
        for i in range(2 if named else 0):  # tuned by ear, then kept
            start = time.perf_counter()
            sep.isolate(analysis, named)
            named_s[i] = time.perf_counter() - start
    finally:
        eartune.HEARD = floor
    refit_s = refit_cost(sep, analysis, named)
    return {
        "clip_seconds": info.duration,
        "load_s": load_s,
        "analysis_s": analysis_s,
        "analysis_cpu_s": analysis_cpu_s,
        "realtime_factor": info.duration / analysis_s,
        "click_latency_s": statistics.median(latencies),
        "click_first_s": latencies[0],
        "clicks": len(latencies),
        "named_clicks_s": named_s[0],
        "named_clicks_again_s": named_s[1],
        "refit_clicks_s": refit_s[0],
        "unrefitted_clicks_s": refit_s[1],
        "refit_time_ratio": refit_s[0] / refit_s[1],
        "analysis_stages_s": clock.stages,
    }


def refit_cost(sep: Separator, analysis, named: list[Point], pairs: int = 3) -> tuple[float, float]:
    """Median times of the (already tuned) ``named`` clicks with the model's refit and without it, alternating
    ``pairs`` times; NaN for a model without a refit or without names."""
    net, times = sep.model.net, ([], [])
    refit = net.refit
    if refit is None or not named:
        return math.nan, math.nan
    try:
        for _ in range(pairs):
            for kept, time_list in zip((refit, None), times):
                net.refit = kept
                start = time.perf_counter()
                sep.isolate(analysis, named)
                time_list.append(time.perf_counter() - start)
    finally:
        net.refit = refit
    return statistics.median(times[0]), statistics.median(times[1])


def measure_htdemucs(path: Path, args: argparse.Namespace) -> dict:
    """HTDemucs's cost over the clip's audio, with the same thread count."""
    import htdemucs_anchor  # here, so that demucs stays out of the --probe child's memory

    torch.set_num_threads(args.threads)
    audio = media.decode_audio(path, sample_rate=htdemucs_anchor.SAMPLE_RATE)
    timing = htdemucs_anchor.time_forward(audio, args.htdemucs_seconds or None)
    return {
        "htdemucs_s": timing.estimated_s,
        "htdemucs_cpu_s": timing.estimated_cpu_s,
        "htdemucs_timed_s": timing.timed_s,
        "htdemucs_timed_audio_s": timing.timed_audio_s,
        "htdemucs_segments_timed": timing.segments_timed,
        "htdemucs_segments_total": timing.segments_total,
        "htdemucs_extrapolated": timing.segments_timed < timing.segments_total,
    }


def probe(path: Path, args: argparse.Namespace) -> dict:
    """In this (fresh) process: analyse ``path`` and isolate one click; the parent reads the peak RSS."""
    sep = separator(args)
    start = time.perf_counter()
    analysis = sep.analyze(path)
    analysis_s = time.perf_counter() - start
    info = analysis.info
    start = time.perf_counter()
    sep.isolate(analysis, clicks(info.video.width, info.video.height, info.duration, 1))
    return {"clip_seconds": info.duration, "analysis_s": analysis_s, "realtime_factor": info.duration / analysis_s,
            "click_s": time.perf_counter() - start, "own_peak_rss_mb": own_peak_rss_mb()}


def own_peak_rss_mb() -> float | None:
    """This process's own peak resident size (Linux ``VmHWM``), or None where /proc is missing.

    ``ru_maxrss`` will not do for a child: Linux starts it from the parent's resident size at fork.
    """
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


def measure_peak_rss(path: Path, args: argparse.Namespace) -> dict:
    """Run :func:`probe` in a child process; its own peak RSS comes from the child (or, without /proc, ``wait4``)."""
    command = [sys.executable, __file__, "--probe", str(path), "--threads", str(args.threads)]
    if args.checkpoint:
        command += ["--checkpoint", args.checkpoint]
    with tempfile.TemporaryDirectory() as cache_dir:
        child = subprocess.Popen(command + ["--cache-dir", cache_dir], stdout=subprocess.PIPE, text=True)
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    result = json.loads(output.splitlines()[-1])
    own = result.pop("own_peak_rss_mb")
    return {**result, "peak_rss_mb": own if own is not None else usage.ru_maxrss / 1024}  # KiB on Linux


def measure_memory(args: argparse.Namespace) -> dict:
    """Peak RSS of analysing and clicking each of :data:`MEMORY_CASES` (scaled by ``--memory-scale``)."""
    out = {}
    for name, seconds, width, height, budget in MEMORY_CASES:
        clip = ensure_clip(args.cache, seconds * args.memory_scale, args, (width, height))
        result = measure_peak_rss(clip, args)
        result.update(budget_mb=budget, within_budget=result["peak_rss_mb"] <= budget)
        log(f"memory {name}: {result['clip_seconds']:.0f} s analysed at {result['realtime_factor']:.1f}x real time, "
            f"one click in {result['click_s']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
            f"(budget {budget:.0f} MB: {'met' if result['within_budget'] else 'MISSED'})")
        out[name] = result
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="main clip length")
    parser.add_argument("--memory-scale", type=float, default=1.0,
                        help="scale the memory clips' lengths (quick runs; the budgets hold at 1)")
    parser.add_argument("--memory-only", action="store_true", help="only measure the memory clips")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--channels", type=int, default=2, choices=sorted(clipgen.LAYOUTS))
    parser.add_argument("--clicks", type=int, default=7, help="isolations for the latency median")
    parser.add_argument("--htdemucs-seconds", type=float, default=60.0,
                        help="leading audio HTDemucs is timed on (0: all of it)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--checkpoint", help="model checkpoint (default: the bundled one)")
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parents[1] / ".cache" / "bench",
                        help="folder of the generated clips")
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)  # the separator's, for --probe
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # internal: the peak-RSS child
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args)))
        return
    load = os.getloadavg()[0]  # other work on the machine skews wall times: record it at start and end
    if args.memory_only:
        memory = measure_memory(args)
        print(json.dumps({"memory": memory, "memory_within_budget": all(m["within_budget"] for m in memory.values())}))
        return
    clip = ensure_clip(args.cache, args.seconds, args)
    with tempfile.TemporaryDirectory() as cache_dir:
        args.cache_dir = cache_dir
        result = measure_analysis(clip, args)
    log(f"analysis: {result['clip_seconds']:.1f} s of {args.width}x{args.height} in {result['analysis_s']:.2f} s "
        f"= {result['realtime_factor']:.1f}x real time (model load {result['load_s']:.2f} s)")
    log("  stages: " + ", ".join(f"{name} {s:.2f} s" for name, s in result["analysis_stages_s"].items()))
    log(f"click to stem: median {result['click_latency_s']:.3f} s over {result['clicks']} clicks "
        f"(first {result['click_first_s']:.3f} s)")
    log(f"two named clicks: {result['named_clicks_s']:.2f} s tuned by ear, {result['named_clicks_again_s']:.3f} s again")
    log(f"  refitted: {result['refit_time_ratio']:.2f}x the time without the refit "
        f"({result['refit_clicks_s']:.3f} s against {result['unrefitted_clicks_s']:.3f} s)")
    result.update(measure_htdemucs(clip, args))
    result["vs_htdemucs"] = result["htdemucs_s"] / result["analysis_s"]
    result["vs_htdemucs_cpu"] = result["htdemucs_cpu_s"] / result["analysis_cpu_s"]  # steadier on a busy machine
    log(f"HTDemucs forward: {result['htdemucs_timed_s']:.1f} s for {result['htdemucs_segments_timed']} of "
        f"{result['htdemucs_segments_total']} segments -> {result['htdemucs_s']:.1f} s for the clip "
        f"= {result['vs_htdemucs']:.1f}x the analysis time ({result['vs_htdemucs_cpu']:.1f}x in CPU time)")
    result["memory"] = memory = measure_memory(args)
    result.update(threads=args.threads, load_avg_1min=[load, os.getloadavg()[0]], clip_format=(
        f"{args.width}x{args.height} {args.fps} fps, {args.sample_rate} Hz x{args.channels}"))
    result["meets_targets"] = {key: met(result[key]) for key, met in TARGETS.items()}
    result["meets_targets"].update({f"peak_rss_{name}": m["within_budget"] for name, m in memory.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
