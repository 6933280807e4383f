"""The analysis cache checks itself: every way an entry can be damaged on disk is found, and the entry rebuilt."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from pixelplayer_blender.core import cache
from pixelplayer_blender.core.separator import Separator


@pytest.fixture(scope="module")
def clip(make_clip):
    return make_clip("cache.mp4", seconds=3.0)


@pytest.fixture(scope="module")
def separator(tmp_path_factory, tiny_checkpoint):
    """The tiny model keeps the many rebuilds here quick; the cache does not depend on the model."""
    return Separator(tiny_checkpoint, threads=1, cache_dir=tmp_path_factory.mktemp("checked-cache"))


def arrays(analysis) -> dict[str, np.ndarray]:
    return {"components": np.stack([analysis.components[w] for w in range(analysis.windows)]),
            "features": np.asarray(analysis.features), "sound_maps": np.asarray(analysis.sound_maps),
            "frame_times": np.asarray(analysis.frame_times)}


@pytest.fixture(scope="module")
def reference(separator, clip):
    return arrays(separator.analyze(clip.path))


def header_bytes(path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()


def truncate_half(path):
    os.truncate(path, path.stat().st_size // 2)


def garbage_after_header(path):
    offset, size = header_bytes(path), path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(os.urandom(size - offset))


def garbage(path):
    path.write_bytes(os.urandom(path.stat().st_size))


def other_values(path):
    np.save(path, np.load(path) + 1)


def empty(path):
    path.write_bytes(b"")


def damage(name, how):
    return lambda entry: how(entry / name)


# The first rows are those of issue 15's table: each once gave wrong stems, NaN or a traceback.
CORRUPTIONS = {
    "components truncated to half": damage("components.npy", truncate_half),
    "random bytes after the header of components": damage("components.npy", garbage_after_header),
    "random bytes after the header of features": damage("features.npy", garbage_after_header),
    "frame_times garbage": damage("frame_times.npy", garbage),
    "frame_times with other values": damage("frame_times.npy", other_values),
    "sound_maps with other values": damage("sound_maps.npy", other_values),
    "empty components": damage("components.npy", empty),
    "empty features": damage("features.npy", empty),
    "empty frame_times": damage("frame_times.npy", empty),
    "empty sound_maps": damage("sound_maps.npy", empty),
    "meta.json is {}": lambda entry: (entry / "meta.json").write_text("{}"),
    "components missing": lambda entry: (entry / "components.npy").unlink(),
    "meta.json missing": lambda entry: (entry / "meta.json").unlink(),
    "manifest missing (an unfinished entry)": lambda entry: (entry / "manifest.json").unlink(),
    "manifest garbage": lambda entry: (entry / "manifest.json").write_text("{"),
    "every file empty": lambda entry: [empty(p) for p in entry.iterdir()],
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_a_damaged_entry_is_rebuilt_never_used(separator, clip, reference, case):
    entry = separator.cache_dir / separator.analyze(clip.path).key
    assert cache.problem(entry) is None
    CORRUPTIONS[case](entry)
    assert cache.problem(entry) is not None
    rebuilt = separator.analyze(clip.path)
    assert not rebuilt.cached  # the damaged entry was not used
    got = arrays(rebuilt)
    assert all(np.array_equal(got[name], reference[name]) for name in reference)
    again = separator.analyze(clip.path)
    assert again.cached and cache.problem(entry) is None
    assert sorted(p.name for p in separator.cache_dir.iterdir()) == [entry.name]


def test_an_entry_that_is_a_file_is_replaced(separator, clip, reference):
    entry = separator.cache_dir / separator.analyze(clip.path).key
    cache.discard(entry)
    entry.write_bytes(b"not a folder")
    assert not separator.analyze(clip.path).cached
    assert entry.is_dir() and cache.problem(entry) is None


def test_a_damaged_entry_found_while_committing_is_replaced(tmp_path):
    """Another process left a damaged entry under the key after this one found none: commit replaces it."""
    final, tmp = tmp_path / "0123abcd", tmp_path / "0123abcd.tmp1"
    for folder, value in ((final, 1.0), (tmp, 2.0)):
        folder.mkdir()
        np.save(folder / "a.npy", np.full(10, value))
        cache.seal(folder)
    (final / "a.npy").write_bytes(b"")
    cache.commit(tmp, final)
    assert not tmp.exists() and np.load(final / "a.npy")[0] == 2.0 and cache.problem(final) is None


def test_large_files_are_checked_by_a_fresh_sample(tmp_path, monkeypatch):
    """Beyond CHECKED_BLOCKS blocks, the first and last block are always checked and the others by a new
    random sample at each check, so damage anywhere is found within a few checks."""
    monkeypatch.setattr(cache, "BLOCK", 4096)
    entry = tmp_path / "entry"
    entry.mkdir()
    np.save(entry / "components.npy", np.random.default_rng(0).standard_normal(4096 * 100 // 8))
    cache.seal(entry)
    assert cache.problem(entry) is None
    offset = header_bytes(entry / "components.npy")
    last = -(-(entry / "components.npy").stat().st_size // 4096) - 1
    for block in (0, last, 57):
        with open(entry / "components.npy", "r+b") as f:
            f.seek(max(block * 4096, offset))
            original = f.read(8)
            f.seek(max(block * 4096, offset))
            f.write(bytes(8))
        checks = [cache.problem(entry) for _ in range(200)]
        if block in (0, last):
            assert all(c and f"block {block}" in c for c in checks)
        else:
            assert any(c and f"block {block}" in c for c in checks) and None in checks
        with open(entry / "components.npy", "r+b") as f:
            f.seek(max(block * 4096, offset))
            f.write(original)
        assert cache.problem(entry) is None


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_gone_processes_are_swept(separator, clip, tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = dead_pid()
        made = {}
        for name, pid, age in (("old-dead", dead, 2 * 3600), ("new-dead", dead, 60), ("old-alive", sleeper.pid, 2 * 3600)):
            for kind in ("tmp", "old"):
                folder = separator.cache_dir / f"{name.encode().hex()}.{kind}{pid}"
                folder.mkdir()
                (folder / "components.npy").write_bytes(b"half written")
                os.utime(folder, (time.time() - age,) * 2)
                made[folder] = name
        separator.analyze(clip.path)  # any run sweeps, a cached one too
        assert {made[f] for f in made if f.exists()} == {"new-dead", "old-alive"}
    finally:
        sleeper.kill()
        sleeper.wait()
    for folder in made:
        cache.discard(folder)


def test_three_concurrent_runs_on_a_fresh_cache(make_clip, tmp_path, tiny_checkpoint):
    clip = make_clip("concurrent.mp4", seconds=3.0, seed=5)
    env = {**os.environ, "PIXELPLAYER_CACHE": str(tmp_path / "cache")}
    runs = [subprocess.Popen([sys.executable, "-m", "pixelplayer_blender.cli", "--threads", "1", "--checkpoint", tiny_checkpoint,
                              "separate", clip.path,
                              "--point", "40,40", "--out-dir", tmp_path / f"out{i}", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    stems = [[soundfile.read(s["path"], dtype="float32")[0].tobytes() for s in json.loads(out)["sources"]]
             for out, _ in outputs]  # the samples: a WAV's PEAK chunk holds the time it was written
    assert stems[0] == stems[1] == stems[2]
    entries = list((tmp_path / "cache").iterdir())
    assert len(entries) == 1 and cache.problem(entries[0]) is None
