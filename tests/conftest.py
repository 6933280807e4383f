"""Shared fixtures: real media files generated with PyAV, and an isolated analysis cache."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import clipgen  # noqa: E402


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
