"""Real-footage data: the manifest and its extraction, recorded-note phrases, photo frames, and the
evaluation scenes, on tiny real files made here (no fetched data needed)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from pixelplayer_blender.training.evalsets import Clip, clip_groups, clip_scene
from pixelplayer_blender.training.instruments import DRUM_BANK, EXTRA_NAMES, GM_VOICES, NAMES, Voice, label_of
from pixelplayer_blender.training.music import Note
from pixelplayer_blender.training.notes import NoteLibrary, key_from_name, libraries, sample_of, velocity_from_name
from pixelplayer_blender.training.photos import PhotoBank, cutout, film
from pixelplayer_blender.training.sources import Source, extract, local_files, read_manifest
from pixelplayer_blender.training.synth import PatchBank

SR = 11025
FREEPATS = "/etc/timidity/freepats.cfg"


def test_vocabulary_keeps_the_first_fourteen_and_appends_ten():
    assert NAMES[:3] == ("violin", "trumpet", "saxophone") and NAMES[13] == "voice"
    assert NAMES[14:] == EXTRA_NAMES == ("cello", "double bass", "harp", "clarinet", "tuba", "xylophone",
                                         "trombone", "tabla", "sitar", "harmonica")
    assert set(GM_VOICES) == set(NAMES) - {"tabla"}


def test_the_shipped_manifest_reads_and_keeps_reserved_sources_out():
    sources = read_manifest()
    roles = {s.role for s in sources}
    assert roles == {"train", "heldout", "dev"}
    text = " ".join(f"{s.repo} {s.package}".lower() for s in sources)
    for reserved in ("musescore", "sonic-pi", "rluke22", "avsbench", "specvqgan", "diff-foley", "pradyojha"):
        assert reserved not in text
    assert all(len(s.commit) == 40 for s in sources if s.repo)


def test_manifest_errors_are_caught(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "x"\nrepo = "a/b"\ncommit = "' + "0" * 40 + '"\nlicence = "CC0"\n'
                   'role = "train"\nkind = "photos"\n[source.classes]\n"/x/" = "kazoo"\n')
    with pytest.raises(ValueError, match="kazoo"):
        read_manifest(bad)


def test_select_maps_classes_filters_and_limits():
    source = Source("s", "CC0", "train", "notes", repo="a/b", commit="0" * 40, paths=("lib",), include=r"_ord_",
                    limit=2, pitch="name", classes={"/vln/": "violin", "/vc/": "cello"})
    paths = [f"lib/vln/v_ord_{i}.wav" for i in range(6)] + ["lib/vln/v_pizz_1.wav", "lib/vc/c_ord_1.wav",
                                                            "other/vln/v_ord_9.wav", "lib/kazoo/k_ord_1.wav"]
    chosen = source.select(paths)
    assert chosen == {"lib/vln/v_ord_1.wav": "violin", "lib/vln/v_ord_4.wav": "violin", "lib/vc/c_ord_1.wav": "cello"}


def test_extract_copies_blobs_unfiltered_from_a_bare_repository(tmp_path):
    work = tmp_path / "work"
    (work / "lib" / "vln").mkdir(parents=True)
    wav = work / "lib" / "vln" / "v_A4_f.wav"
    sf.write(wav, np.sin(np.arange(2000) * 0.2).astype(np.float32) * 0.5, SR)
    (work / ".gitattributes").write_text("* text eol=crlf\n")  # would corrupt binaries through filters
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(work)]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    source = Source("s", "CC0", "train", "notes", repo="o/n", commit=commit, paths=("lib",), pitch="name",
                    classes={"/vln/": "violin"})
    files = extract(source, bare, tmp_path / "raw")
    assert files == {"lib/vln/v_A4_f.wav": "violin"}
    copied = tmp_path / "raw" / "o+n" / "lib" / "vln" / "v_A4_f.wav"
    assert copied.read_bytes() == wav.read_bytes()
    assert local_files(source, tmp_path / "raw") == {copied: "violin"}
    moved = Source("s", "CC0", "train", "notes", repo="o/n", commit="1" * 40, pitch="name")
    with pytest.raises(ValueError, match="extract again"):
        local_files(moved, tmp_path / "raw")


@pytest.mark.parametrize("stem, key", [("cello_As2_05_forte_arco-normal", 46), ("twang_e3_mf_rr3", 52),
                                       ("EWHarp_Normal_A#1_v2_RR1", 34), ("Violin.arco.ff.sulA.Ab5.stereo", 80),
                                       ("FF A#2", 46), ("C4_pp", 60), ("double-bass_B1_1_piano_arco-normal", 35)])
def test_note_names(stem, key):
    assert key_from_name(stem) == key


def test_dynamics_and_pitch_rules():
    assert velocity_from_name("cello_As2_05_mezzo-forte_arco-normal") == 80
    assert velocity_from_name("HEADROOM PIANO LEVEL1 CLOSE 102") < velocity_from_name("HEADROOM PIANO LEVEL5 CLOSE 102")
    assert sample_of(Path("HEADROOM PIANO LEVEL2 CLOSE 60.flac"), "number").key == 60
    nsynth = sample_of(Path("guitar_acoustic_010-067-100.wav"), "nsynth")
    assert (nsynth.key, nsynth.velocity) == (67, 100)
    assert sample_of(Path("Samples/Snare/3-Snare-OHL.flac"), "drum", {"Snare": 38}).key == 38
    assert sample_of(Path("no_pitch_here.wav"), "name") is None


def _tone(path: Path, freq: float, seconds: float = 1.5, rate: int = 22050) -> None:
    t = np.arange(int(seconds * rate)) / rate
    audio = np.concatenate([np.zeros(int(0.1 * rate)), np.sin(2 * np.pi * freq * t) * np.exp(-t)])
    sf.write(path, (0.5 * audio).astype(np.float32), rate)


def _pitch(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 8 * len(audio)))
    return float(np.argmax(spectrum) * SR / (8 * len(audio)))


@pytest.fixture(scope="module")
def flute(tmp_path_factory) -> NoteLibrary:
    folder = tmp_path_factory.mktemp("flute")
    for name, freq in (("flute_A4_1_forte_normal", 440.0), ("flute_A5_1_forte_normal", 880.0)):
        _tone(folder / f"{name}.wav", freq)
    return libraries({p: "flute" for p in folder.glob("*.wav")}, "name", SR)["flute"]


def test_notes_start_at_the_onset_and_shift_to_the_score_pitch(flute):
    rng = np.random.default_rng(0)
    a4 = flute.note(69, 100, rng)
    assert np.abs(a4[:120]).max() > 0.3  # the leading 0.1 s of silence is cut (5 ms are kept)
    assert abs(_pitch(a4[:4096]) - 440) < 3
    b4 = flute.note(71, 100, rng)  # two semitones above the nearest sample (A4)
    assert abs(_pitch(b4[:4096]) - 440 * 2 ** (2 / 12)) < 4
    assert abs(_pitch(flute.note(80, 100, rng)[:4096]) - 880 * 2 ** (-1 / 12)) < 6  # nearest: A5


def test_a_played_score_sounds_where_its_notes_are(flute):
    notes = [Note(0.5, 0.4, 69, 100), Note(2.0, 0.4, 76, 60)]
    audio = flute.play(notes, 0.0, 3 * SR, np.random.default_rng(0), release=0.05)
    assert np.abs(audio[: int(0.49 * SR)]).max() == 0
    loud = [np.sqrt(np.mean(audio[int(t * SR): int((t + 0.3) * SR)] ** 2)) for t in (0.5, 1.2, 2.0)]
    assert loud[0] > 10 * loud[1] and loud[2] > 10 * loud[1]  # released between the notes
    notes_, phrase = flute.phrase(np.random.default_rng(1), 2.0, 0.5)
    assert len(phrase) == int(2.5 * SR) and notes_ and np.abs(phrase).max() > 0
    assert all(flute.voice().keys[0] <= n.key <= flute.voice().keys[-1] for n in notes_)


def _photos(folder: Path) -> dict[Path, int]:
    """A red 'instrument' on white (a product shot) and a green one on a textured photo, per class."""
    rng = np.random.default_rng(0)
    files = {}
    for label, colour in ((label_of("violin"), (200, 30, 30)), (label_of("harp"), (30, 160, 40))):
        for k in range(2):
            image = np.full((120, 160, 3), 255, np.uint8) if k == 0 else rng.integers(0, 255, (120, 160, 3), np.uint8)
            image[30:90, 50:110] = colour
            path = folder / f"{label}_{k}.jpg"
            Image.fromarray(image).save(path, quality=95)
            files[path] = label
    return files


def test_cutout_finds_a_product_shot_and_keeps_other_photos(tmp_path):
    bank = PhotoBank(_photos(tmp_path))
    rng = np.random.default_rng(0)
    shot = cutout(bank.image(tmp_path / f"{label_of('violin')}_0.jpg"), rng)
    assert abs(shot.width - 60) <= 4 and abs(shot.height - 60) <= 4  # cropped to the red square
    photo = cutout(bank.image(tmp_path / f"{label_of('violin')}_1.jpg"), rng)
    assert photo.width >= 0.8 * 160 - 1 and photo.height >= 0.8 * 120 - 1


def test_film_boxes_hold_the_instrument_in_every_view(tmp_path):
    bank = PhotoBank(_photos(tmp_path))
    for seed in range(8):
        rng = np.random.default_rng(seed)
        frames, boxes = film(bank, rng, label_of("violin"), 96, 3)
        assert frames.shape == (3, 96, 96, 3) and frames.dtype == np.uint8 and boxes.shape == (3, 4)
        for frame, (x0, y0, x1, y1) in zip(frames, boxes):
            assert 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96
            inside = frame[int(y0) + 2:int(y1) - 2, int(x0) + 2:int(x1) - 2].reshape(-1, 3).astype(int)
            reddish = (inside[:, 0] > inside[:, 1] + 60).mean()
            assert reddish > 0.2  # the violin's red square is what the box shows


def test_clip_scenes_sum_to_the_mixture_and_silent_players_are_silent():
    rng = np.random.default_rng(0)
    clips = [Clip(f"id{i}@0", name, NAMES.index(name) if name in NAMES else -1,
                  rng.integers(0, 255, (3, 32, 32, 3), np.uint8), 0.1 * rng.standard_normal(SR * 2).astype(np.float32))
             for i, name in enumerate(("violin", "cello", "erhu", "violin"))]
    groups = clip_groups(clips, 2, 3, seed=0)
    assert len(groups) == 3 and all(g[0].name != g[1].name for g in groups)
    scene = clip_scene(0, [clips[0]], [clips[1]])
    assert scene.width == 64 and len(scene.sources) == 1 and len(scene.silent) == 1
    assert np.abs(scene.silent[0].stem).max() == 0
    assert np.allclose(scene.mixture, scene.sources[0].stem)
    x0, _, x1, _ = scene.silent[0].boxes[0]
    tile = scene.frames[0][:, int(x0):int(x1)]
    assert np.array_equal(tile, clips[1].frames[0])
    assert x0 <= scene.silent[0].click[0] < x1


def test_patch_set_configuration_says_which_voices_it_has(tmp_path):
    cfg = tmp_path / "set.cfg"
    cfg.write_text("dir /nowhere\ndrumset 0\n 36 Drum_000/036_Kick.pat amp=100\nbank 0\n 0 Tone_000/000_Piano.pat\n"
                   " 40 Tone_000/040_Violin.pat # fiddle\nbank 1\n 41 Tone_001/041_Viola.pat\n")
    bank = PatchBank(SR, str(cfg), cache_dir=tmp_path)
    assert bank.has(Voice(0, 40, (60,))) and bank.has(Voice(0, 0, (60,))) and bank.has(Voice(DRUM_BANK, 0, (36,)))
    assert not bank.has(Voice(0, 41, (60,))) and not bank.has(Voice(DRUM_BANK, 8, (36,)))


@pytest.mark.skipif(not Path(FREEPATS).exists() or shutil.which("timidity") is None,
                    reason="needs the Debian packages freepats and timidity")
def test_freepats_notes_have_their_pitch(tmp_path):
    bank = PatchBank(SR, FREEPATS, cache_dir=tmp_path, persist=False)
    flute = bank.note(Voice(0, 73, (69,)), 69, 1).astype(np.float32)
    assert abs(_pitch(flute[2000:10000]) - 440) < 3
