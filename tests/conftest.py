"""Shared fixtures: real media files generated with PyAV, and an isolated analysis cache.

A test run must leave the checkout as it found it: the session fails when ``git status`` (ignored
paths included, except bytecode, pytest's own cache and the venvs) differs after the run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import clipgen  # noqa: E402

STATUS = pytest.StashKey[list[str] | None]()


def written_by_tools(path: str) -> bool:
    """Bytecode, pytest's own cache and the venvs the set-up scripts make."""
    return path.startswith(".venv") or any(part in ("__pycache__", ".pytest_cache") for part in Path(path).parts)


def checkout_status() -> list[str] | None:
    """``git status --porcelain --ignored`` of the checkout, less :func:`written_by_tools`; None outside git."""
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    except FileNotFoundError:
        return None
    if done.returncode != 0:
        return None
    return [line for line in done.stdout.splitlines() if not written_by_tools(line[3:])]


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[STATUS] = checkout_status()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run, saying what changed, when the checkout's status is not what it was at the start."""
    before, after = session.config.stash.get(STATUS, None), checkout_status()
    if before is None or after is None or before == after:
        return
    title = "the test run changed the checkout"
    lines = ["git status --porcelain --ignored differs; tests must write only to temporary or cache folders:",
             *(f"  {line}" for line in sorted(set(before) ^ set(after)))]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")  # end pytest's progress line
        reporter.write_sep("=", title, red=True, bold=True)
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print(title, *lines, sep="\n", file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def _isolated_caches(tmp_path_factory):
    """Analyses and rendered notes never touch the user's caches (set before any other fixture runs)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELPLAYER_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.setenv("PIXELPLAYER_DATA_CACHE", str(tmp_path_factory.getbasetemp() / "notes"))
        yield


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory) -> Path:
    """The seeded untrained stand-in as a checkpoint file: tests that check what an untrained model says."""
    from pixelplayer_blender.core.checkpoint import save_checkpoint, untrained_model

    model = untrained_model()
    return save_checkpoint(tmp_path_factory.mktemp("models") / "untrained.pt", model.net, model.metadata)


@pytest.fixture(scope="session")
def bundled_without(tmp_path_factory):
    """Makes the bundled model without one of its parts as a checkpoint file:
    ``bundled_without("heard", tagger="")`` (no ears), ``bundled_without("eyes", eyes="")`` (no eyes)."""
    import dataclasses

    from pixelplayer_blender.core.checkpoint import default_checkpoint, load_checkpoint, save_checkpoint
    from pixelplayer_blender.core.nets import PixelPlayerNet

    def make(part: str, **config) -> Path:
        model = load_checkpoint(default_checkpoint())
        net = PixelPlayerNet(dataclasses.replace(model.net.config, **config))
        net.load_state_dict({k: v for k, v in model.net.state_dict().items() if not k.startswith(f"{part}.")})
        return save_checkpoint(tmp_path_factory.mktemp("without") / f"without-{part}.pt", net, model.metadata)

    return make


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """The seeded untrained ``tiny`` preset as a checkpoint: quick analyses where the model does not matter."""
    from pixelplayer_blender.core.checkpoint import save_checkpoint, untrained_model

    model = untrained_model("tiny")
    return save_checkpoint(tmp_path_factory.mktemp("models") / "tiny.pt", model.net, model.metadata)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_clip(media_dir):
    """Write (once per session) a clip with the given clipgen arguments; returns its ``Clip``."""
    made: dict = {}

    def make(name: str, **kwargs) -> "clipgen.Clip":
        if name not in made:
            kwargs = {"seconds": 3.0, "width": 160, "height": 120, "fps": 25, **kwargs}
            made[name] = clipgen.write_clip(media_dir / name, **kwargs)
        return made[name]

    return make


@pytest.fixture(scope="session")
def duet(make_clip):
    """The common test clip: two instruments, stereo 44.1 kHz, 8 s (two analysis windows)."""
    return make_clip("duet.mp4", seconds=8.0, width=320, height=180)


# Real media of every kind the core must read: (file name, audio codec, sample rate, channels).
FORMATS = [
    ("aac-44k-stereo.mp4", "aac", 44100, 2),
    ("aac-96k-mono.mov", "aac", 96000, 1),
    ("aac-48k-51.mp4", "aac", 48000, 6),
    ("flac-8k-51.mkv", "flac", 8000, 6),
    ("flac-16k-mono.mkv", "flac", 16000, 1),
    ("pcm-96k-stereo.mkv", "pcm_s16le", 96000, 2),
    ("opus-48k-stereo.webm", "libopus", 48000, 2),
    ("mp3-22k-mono.avi", "libmp3lame", 22050, 1),
    ("mp3-32k-stereo.avi", "libmp3lame", 32000, 2),
]


@pytest.fixture(scope="session", params=FORMATS, ids=[f[0] for f in FORMATS])
def format_clip(request, make_clip):
    """One 7 s clip (two analysis windows) per entry of :data:`FORMATS`."""
    name, codec, rate, channels = request.param
    return make_clip(name, audio_codec=codec, sample_rate=rate, channels=channels, seconds=7.0)
