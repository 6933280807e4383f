"""The ``pixelplayer`` command: separate, remix, heatmap, info.

Results go to stdout, progress and messages to stderr; every user error is one
line on stderr and a non-zero exit, with nothing written.  Ctrl-C at any moment is
``pixelplayer: cancelled`` and exit 130: :func:`main` takes over SIGINT before the engine's
heavy imports (torch, PyAV), which it does itself (:func:`_import_engine`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import signal
import sys
from pathlib import Path

from . import __version__
from .core.errors import PixelPlayerError
from .core.query import Point, Query, Region

MAX_GAIN_DB = 60.0


class ProgressBar:
    """A one-line progress bar on stderr (a line per quarter when stderr is not a terminal)."""

    def __init__(self, title: str) -> None:
        self.title, self.tty, self.shown = title, sys.stderr.isatty(), -1

    def __call__(self, fraction: float, message: str) -> None:
        if self.tty:
            filled = int(fraction * 30)
            sys.stderr.write(f"\r{self.title} [{'#' * filled}{' ' * (30 - filled)}] {fraction:4.0%} {message:<16}")
            if fraction >= 1.0:
                sys.stderr.write("\n")
        elif int(fraction * 4) > self.shown:
            self.shown = int(fraction * 4)
            sys.stderr.write(f"{self.title}: {fraction:.0%} {message}\n")
        sys.stderr.flush()


def _numbers(text: str, count: int, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(map(math.isfinite, values)):
        raise argparse.ArgumentTypeError(f"{what} must be {count} comma-separated numbers, got {text!r}")
    return values


def _named(text: str) -> tuple[str, str | None]:
    """Split ``COORDINATES[=NAME]``."""
    coords, sep, name = text.partition("=")
    if sep and not name.strip():
        raise argparse.ArgumentTypeError(f"expected an instrument name after '=', got {text!r}")
    return coords, name.strip() if sep else None


def _point(text: str) -> Point:
    coords, name = _named(text)
    return Point(*_numbers(coords, 2, "a point"), name=name)


def _region(text: str) -> Region:
    coords, name = _named(text)
    return Region(*_numbers(coords, 4, "a region"), name=name)


def _levelled(parse):
    """Parse ``QUERY:GAIN_DB``."""
    def parser(text: str) -> tuple[Query, float]:
        query, sep, db = text.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected QUERY:GAIN_DB, got {text!r}")
        try:
            gain = float(db)
        except ValueError:
            gain = math.nan
        if not abs(gain) <= MAX_GAIN_DB:
            raise argparse.ArgumentTypeError(f"gain must be a number of dB from -{MAX_GAIN_DB:g} to "
                                             f"+{MAX_GAIN_DB:g}, got {db!r}")
        return parse(query), gain
    return parser


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line, like every other error."""

    def error(self, message: str):
        self.exit(2, f"pixelplayer: error: {message} (see {self.prog} --help)\n")


class _Ordered(argparse.Action):
    """Collect --point and --region values into one list, in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest) or [])
        items.append(values)
        setattr(namespace, self.dest, items)


POINT_HELP = ("a click at pixel X,Y of the source frame (origin top-left); '=NAME' says which instrument it is "
              "(e.g. 320,180=violin) and makes the separation follow that instrument's sound, tuned to the clip by ear")
REGION_HELP = "a rectangle of source pixels from X0,Y0 to X1,Y1; '=NAME' as for --point"
TIME_HELP = "seconds into the clip: the frame the clicks refer to (default: the first frame)"


def _subcommand(sub, name: str, summary: str, *examples: str) -> argparse.ArgumentParser:
    epilog = "example" + ("s" if len(examples) > 1 else "") + ":\n" + "\n".join(f"  {e}" for e in examples)
    parser = sub.add_parser(name, help=summary, description=summary, epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", help="the video file (any container and codecs FFmpeg reads)")
    return parser


def _parser() -> argparse.ArgumentParser:
    from .core import media

    p = _Parser(prog="pixelplayer", description="Click an instrument in a video, get its sound.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--checkpoint", help="model checkpoint (default: the bundled model)")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, mps (default: cpu)")
    p.add_argument("--threads", type=_threads, help="CPU threads for torch, at least 1 (default: torch's choice)")
    p.add_argument("--cache-dir", help="where analyses are cached (default: $XDG_CACHE_HOME/pixelplayer)")
    sub = p.add_subparsers(dest="command", required=True, help="what to do (each has its own --help)")

    s = _subcommand(sub, "separate", "write one audio file per click plus the rest (everything not clicked)",
                    "pixelplayer separate concert.mp4 --point 420,310 --point 800,300=cello --time 12 --out-dir stems")
    s.add_argument("--point", dest="queries", action=_Ordered, type=_point, metavar="X,Y[=NAME]", help=POINT_HELP)
    s.add_argument("--region", dest="queries", action=_Ordered, type=_region, metavar="X0,Y0,X1,Y1[=NAME]",
                   help=REGION_HELP)
    s.add_argument("--time", type=float, help=TIME_HELP)
    s.add_argument("--out-dir", required=True, help="folder for the stems: VIDEO.N.LABEL.FORMAT and VIDEO.rest.FORMAT")
    s.add_argument("--format", choices=["wav", "flac"], default="wav",
                   help="wav (32-bit float, exact) or flac (24-bit); default: wav")
    s.add_argument("--json", action="store_true", help="print one JSON object describing the outputs")

    r = _subcommand(sub, "remix", "write a copy of the video (picture untouched) with clicked instruments re-levelled",
                    "pixelplayer remix concert.mp4 --point 420,310:-12 --point 800,300:+6 --time 12 --out remix.mp4")
    r.add_argument("--point", dest="levels", action=_Ordered, type=_levelled(_point), metavar="X,Y[=NAME]:GAIN_DB",
                   help=POINT_HELP + "; GAIN_DB is its new level in dB (the rest stays at 0 dB)")
    r.add_argument("--region", dest="levels", action=_Ordered, type=_levelled(_region),
                   metavar="X0,Y0,X1,Y1[=NAME]:GAIN_DB", help=REGION_HELP + "; GAIN_DB as for --point")
    r.add_argument("--time", type=float, help=TIME_HELP)
    r.add_argument("--out", required=True, help=f"the new video: {', '.join(sorted(media.REMIX_CODECS))}")

    h = _subcommand(sub, "heatmap", "write the frame at TIME with its sound map (where the sound comes from) as a PNG",
                    "pixelplayer heatmap concert.mp4 --time 12 --points 420,310 800,300 --out map.png")
    h.add_argument("--time", type=float, default=0.0, help="seconds into the clip (default: 0)")
    h.add_argument("--points", nargs="+", type=_point, default=[], metavar="X,Y",
                   help="clicks to mark on the map, numbered in order")
    h.add_argument("--out", required=True, help="the PNG to write")

    i = _subcommand(sub, "info", "streams, duration and what the analysis will cost",
                    "pixelplayer info concert.mp4 --json")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _at_time(query: Query, t: float | None) -> Query:
    return query if t is None else dataclasses.replace(query, time=t)


def _check_writable_dir(directory: Path) -> None:
    """Refuse early a folder that cannot be written, without creating it (outputs create it)."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise PixelPlayerError(f"cannot write to {directory}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PixelPlayerError(f"cannot write to {directory}: permission denied")


def _check_output(path: Path, source: Path) -> None:
    if path.resolve() == source.resolve() or (path.exists() and path.samefile(source)):
        raise PixelPlayerError(f"refusing to overwrite the source {source}")
    _check_writable_dir(path.parent)


def _check_time(t: float | None, info) -> None:
    if t is not None and not (math.isfinite(t) and 0 <= t <= info.duration):
        raise PixelPlayerError(f"--time {t:g} is not a moment of the clip: it lasts {info.duration:.2f} s "
                               f"(give 0 to {info.duration:.2f})")


def _prepare(args, source: Path, queries: list[Query]):
    """Checks that need no model: the media, the time and the queries."""
    from .core import analysis, media

    info = media.probe(source)
    analysis.validate(info)
    _check_time(args.time, info)
    for q in queries:
        q.cells(info.video.width, info.video.height, (1, 1))
    return info


def _separator(args, queries: list[Query] = ()):
    """The separator the options ask for; names in ``queries`` must be instruments its model knows."""
    from .core.isolate import prototype
    from .core.separator import Separator

    sep = Separator(args.checkpoint, args.device, args.threads, args.cache_dir)
    if sep.warning:
        print(f"pixelplayer: warning: {sep.warning}", file=sys.stderr)
    for q in queries:
        if q.name is not None:
            prototype(sep.model, q.name)
    return sep


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "source"


def cmd_separate(args) -> None:
    from .core import media
    from .core.files import atomic_paths

    source = Path(args.video)
    queries = [_at_time(q, args.time) for q in args.queries or []]
    if not queries:
        raise PixelPlayerError("give at least one --point or --region")
    info = _prepare(args, source, queries)
    out_dir = Path(args.out_dir)
    _check_writable_dir(out_dir)
    sep = _separator(args, queries)
    result = sep.isolate(sep.analyze(source, ProgressBar("analysing")), queries, ProgressBar("isolating"))
    paths = [out_dir / f"{source.stem}.{i + 1}.{_slug(s.label)}.{args.format}" for i, s in enumerate(result.sources)]
    rest = out_dir / f"{source.stem}.rest.{args.format}"
    for p in (*paths, rest):
        _check_output(p, source)
    with atomic_paths([*paths, rest]) as staged:  # all files or none
        for p, s in zip(staged, result.sources):
            media.write_audio(p, s.audio, result.sample_rate)
        media.write_audio(staged[-1], result.residual, result.sample_rate)
    if args.json:
        doc = {
            "sources": [{"path": str(p), "query": s.query.to_dict(), "label": s.label}
                        for p, s in zip(paths, result.sources)],
            "residual": {"path": str(rest)},
            "samplerate": result.sample_rate,
            "seconds": result.residual.shape[1] / result.sample_rate,
            "channels": info.audio.channels,
            "trained": result.trained,
        }
        if sep.warning:
            doc["warning"] = sep.warning
        print(_json(doc))
    else:
        for p, s in zip(paths, result.sources):
            print(f"{p}\t{s.label}")
        print(f"{rest}\trest")


def _json(doc: dict) -> str:
    """``doc`` as valid JSON, floats rounded to 3 decimals (a millisecond, a thousandth of a pixel);
    a number that is not finite (never expected) becomes null rather than invalid JSON."""
    def rounded(value):
        if isinstance(value, float):
            return round(value, 3) if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [rounded(v) for v in value]
        return value
    return json.dumps(rounded(doc), default=str, allow_nan=False)


def cmd_remix(args) -> None:
    import numpy as np

    from .core import media

    source, out = Path(args.video), Path(args.out)
    levels = [(_at_time(q, args.time), db) for q, db in args.levels or []]
    if not levels:
        raise PixelPlayerError("give at least one --point X,Y:GAIN_DB or --region X0,Y0,X1,Y1:GAIN_DB")
    info = _prepare(args, source, [q for q, _ in levels])
    _check_output(out, source)
    if out.suffix.lower() not in media.REMIX_CODECS:
        raise PixelPlayerError(f"unsupported video format {out.suffix!r}: use one of {sorted(media.REMIX_CODECS)}")
    sep = _separator(args, [q for q, _ in levels])
    mixed = sep.remix(sep.analyze(source, ProgressBar("analysing")), levels, ProgressBar("isolating"))
    peak = max((float(np.abs(block).max(initial=0.0)) for block in media.blocks(mixed)), default=0.0)
    if peak > 1.0:
        print(f"pixelplayer: warning: the remix peaks at {20 * np.log10(peak):+.1f} dBFS and may clip",
              file=sys.stderr)
    media.write_video_with_audio(source, out, mixed, info.audio.sample_rate, info.audio.layout)
    print(out)


def cmd_heatmap(args) -> None:
    from .core import soundmap

    source, out = Path(args.video), Path(args.out)
    _prepare(args, source, args.points)
    _check_output(out, source)
    sep = _separator(args)
    soundmap.export_png(sep.analyze(source, ProgressBar("analysing")), args.time, out, args.points)
    print(out)


def cmd_info(args) -> None:
    from .core import analysis, media

    source = Path(args.video)
    info = media.probe(source)
    sep = _separator(args)
    config = sep.model.net.config
    doc: dict = {"path": str(source), "container": info.container, "duration": info.duration,
                 "size_bytes": info.size_bytes,
                 "video": info.video.__dict__ if info.video else None,
                 "audio": info.audio.__dict__ if info.audio else None}
    try:
        analysis.validate(info)
    except PixelPlayerError as e:
        doc["analysis"] = {"possible": False, "reason": str(e)}
    else:
        samples = int(info.duration * config.sample_rate)
        windows = len(analysis.plan_windows(samples, config))
        component_bytes = windows * config.k * config.log_bins * config.frames * 2
        doc["analysis"] = {
            "possible": True, "model": config.name, "trained": sep.trained, "windows": windows,
            "frames_decoded": windows * config.video_frames,
            "cache_bytes_estimate": component_bytes,
            "cached": (sep.cache_dir / analysis.cache_key(source.resolve(), sep.model)).is_dir(),
        }
    if args.json:
        print(_json(doc))
        return
    print(f"{source}: {info.container}, {info.duration:.2f} s, {info.size_bytes} bytes")
    if info.video:
        v = info.video
        print(f"  video: {v.codec} {v.width}x{v.height} @ {v.fps:.3f} fps")
    if info.audio:
        a = info.audio
        print(f"  audio: {a.codec} {a.sample_rate} Hz, {a.channels} channels ({a.layout})")
    a = doc["analysis"]
    if not a["possible"]:
        print(f"  analysis: not possible: {a['reason']}")
    else:
        print(f"  analysis ({a['model']} model{'' if a['trained'] else ', UNTRAINED'}): {a['windows']} windows, "
              f"{a['frames_decoded']} frames decoded, "
              f"{a['cache_bytes_estimate'] / 2**20:.0f} MiB cache" + (" (already cached)" if a["cached"] else ""))


COMMANDS = {"separate": cmd_separate, "remix": cmd_remix, "heatmap": cmd_heatmap, "info": cmd_info}


def _interrupted(signum, frame) -> None:
    """Ctrl-C: unwind (removing what was being written); a second Ctrl-C must not cut that short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _import_engine() -> None:
    """Import the engine (torch, PyAV, soundfile, Pillow) with Ctrl-C held back until it is loaded.

    An interrupt inside an extension module's initialisation surfaces as an ImportError (Cython's
    "cannot initialise module strings"), not as KeyboardInterrupt; held back, it is raised after.
    """
    pending: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        import PIL.Image  # noqa: F401
        import soundfile  # noqa: F401

        from .core import analysis, isolate, media, separator, soundmap  # noqa: F401
    finally:
        signal.signal(signal.SIGINT, _interrupted)
    if pending:
        _interrupted(signal.SIGINT, None)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, _interrupted)
    try:
        _import_engine()
        args = _parser().parse_args(argv)
        COMMANDS[args.command](args)
    except PixelPlayerError as e:
        print(f"pixelplayer: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pixelplayer: cancelled", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"pixelplayer: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
