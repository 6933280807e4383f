"""The synthetic and real training data: determinism, shapes, music, silence, boxes, loaders, scenes."""

import json
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from pixelplayer_blender.training import INSTRUMENTS, NAMES, MixDataset, NoteBank, SoloGenerator, label_of
from pixelplayer_blender.training.realdata import IndexSolos
from pixelplayer_blender.training.scenes import compose_scene, write_scene
from pixelplayer_blender.training.visuals import Actor, sprite

FEW = ("violin", "flute", "drums", "maracas", "conga")  # cheap to render from scratch


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    bank = NoteBank(11025, cache_dir=tmp_path_factory.mktemp("notes"))
    return SoloGenerator(bank=bank, instruments=FEW)


def test_same_seed_gives_the_same_solo(generator):
    a, b, c = generator.render(5), generator.render(5), generator.render(6)
    assert np.array_equal(a.audio, b.audio) and np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.boxes, b.boxes) and a.label == b.label
    assert not np.array_equal(a.frames, c.frames)


def test_solo_shapes_labels_and_boxes(generator):
    for seed in range(6):
        solo = generator.render(seed)
        assert solo.audio.shape == (65536,) and solo.audio.dtype == np.float32
        assert solo.frames.shape == (3, 128, 128, 3) and solo.frames.dtype == np.uint8
        assert NAMES[solo.label] in FEW
        x0, y0, x1, y1 = solo.boxes.T
        assert np.all((0 <= x0) & (x0 < x1) & (x1 <= 128) & (0 <= y0) & (y0 < y1) & (y1 <= 128))
        assert np.all((x1 - x0) * (y1 - y0) > 0.03 * 128 * 128)
        assert np.abs(solo.audio).max() < 1.0


def test_box_is_the_drawn_instrument():
    canvas = Image.new("RGBA", (200, 120), (0, 0, 0, 0))
    actor = Actor(sprite(INSTRUMENTS[0].emoji), 70, (180, 60), (180, 60), angle=20, wobble=0, bounce=0)
    box, _, _ = actor.draw(canvas, 0.5)
    drawn = np.asarray(canvas.getchannel("A").point(lambda v: 255 if v > 24 else 0).getbbox())
    assert np.array_equal(box, drawn)
    assert box[2] == 200  # sticks out on the right: clipped to the frame


def test_notes_have_the_right_pitch(generator):
    flute = INSTRUMENTS[label_of("flute")]
    a4 = generator.bank.note(flute.voices[0], 69, 1).astype(np.float32)[2000:10000]
    spectrum = np.abs(np.fft.rfft(a4 * np.hanning(len(a4))))
    assert abs(np.argmax(spectrum) * 11025 / len(a4) - 440) < 3


def test_solo_audio_is_pitched_music(generator):
    solo = generator.render(11, instrument=label_of("violin"), silent=False)
    assert not solo.silent and len(solo.notes) >= 3 and len({n.key for n in solo.notes}) >= 2
    frames = np.lib.stride_tricks.sliding_window_view(solo.audio, 1024)[::512] * np.hanning(1024)
    power = np.abs(np.fft.rfft(frames)) ** 2 + 1e-12
    active = power.sum(axis=1) > 0.05 * power.sum(axis=1).max()
    flatness = np.exp(np.log(power[active]).mean(axis=1)) / power[active].mean(axis=1)
    assert active.sum() > 20 and np.median(flatness) < 0.03  # white noise is about 0.56


def test_silent_clips_are_silent_but_visible(generator):
    solo = generator.render(3, silent=True)
    assert solo.silent and not solo.notes and not np.any(solo.audio)
    assert np.all(solo.boxes[:, 2] > solo.boxes[:, 0])


@pytest.mark.parametrize("n_sources", [2, 3])
def test_mix_dataset_items(generator, n_sources):
    data = MixDataset(generator, n_sources=n_sources, length=4, seed=1)
    item = data[2]
    assert item["frames"].shape == (n_sources, 3, 3, 128, 128) and item["frames"].dtype == torch.uint8
    assert item["audio"].shape == (n_sources, 65536) and item["boxes"].shape == (n_sources, 3, 4)
    assert len(set(item["labels"].tolist())) == n_sources
    assert torch.allclose(item["mixture"], item["audio"].sum(0))
    assert torch.equal(data[2]["audio"], item["audio"])
    data.set_epoch(1)
    assert not torch.equal(data[2]["frames"], item["frames"])
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=2)))
    assert batch["audio"].shape == (2, n_sources, 65536)


def _write_mp3(path, audio, rate):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mp3", rate=rate, layout="mono")
        for start in range(0, len(audio), 1152):
            frame = av.AudioFrame.from_ndarray(audio[None, start:start + 1152].astype(np.float32), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_index_loader_reads_sound_of_pixels_folders(tmp_path):
    fps, seconds, rate = 8, 12, 44100
    t = np.arange(seconds * rate) / rate
    audio = (t / seconds * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # loudness tells the time
    lines = []
    for folder, ext in (("violin", "wav"), ("acoustic_guitar", "mp3")):
        audio_path = tmp_path / "audio" / folder / f"clip.{ext}"
        frames_dir = tmp_path / "frames" / folder / "clip.mp4"
        audio_path.parent.mkdir(parents=True)
        frames_dir.mkdir(parents=True)
        sf.write(audio_path, audio, rate) if ext == "wav" else _write_mp3(audio_path, audio, rate)
        for i in range(1, seconds * fps + 1):  # grey level tells the frame number
            Image.new("RGB", (64, 48), (2 * i,) * 3).save(frames_dir / f"{i:06d}.jpg", quality=95)
        lines.append(f"{audio_path.relative_to(tmp_path)},{frames_dir.relative_to(tmp_path)},{seconds * fps}")
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")

    solos = IndexSolos(tmp_path / "train.csv", image_size=32)
    rng = np.random.default_rng(0)
    labels = set()
    for _ in range(4):
        solo = solos.draw(rng)
        labels.add(NAMES[solo.label])
        assert solo.frames.shape == (3, 32, 32, 3) and solo.audio.shape == (65536,)
        assert np.array_equal(solo.boxes[0], [0, 0, 32, 32])
        first_frame = round(solo.frames[0].mean() / 2)
        start = (first_frame - 1) / fps - solos.n_samples / solos.sample_rate / 6  # frame 0 is 1/6 in
        measured = np.sqrt(2 * np.mean(solo.audio[:1103] ** 2)) * seconds - 0.05
        assert abs(measured - start) < 0.2
        spectrum = np.abs(np.fft.rfft(solo.audio[-8192:]))
        assert abs(np.argmax(spectrum) * 11025 / 8192 - 440) < 3
    assert labels == {"violin", "guitar"}
    assert all(NAMES[solos.draw(rng, exclude={label_of("violin")}).label] == "guitar" for _ in range(3))


def test_scene_is_a_real_video_with_stems_and_boxes(tmp_path):
    scene = compose_scene(3, 2, width=320, height=180, fps=12, duration=2.0,
                          bank=NoteBank(22050, persist=False), silent_prob=1.0)
    sidecar = json.loads(write_scene(scene, tmp_path, "duet").read_text())
    with av.open(str(tmp_path / sidecar["video"])) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert (video.width, video.height, audio.rate) == (320, 180, 22050)
        assert sum(1 for _ in container.decode(video=0)) == 24 == sidecar["frames"]
    sources = sidecar["sources"]
    assert len(sources) == 2 and len(sidecar["silent"]) == 1
    assert len({s["label"] for s in sources + sidecar["silent"]}) == 3
    mixture, rate = sf.read(tmp_path / sidecar["mixture"], dtype="float32")
    stems = [sf.read(tmp_path / s["stem"], dtype="float32")[0] for s in sources]
    assert rate == 22050 and mixture.shape == (44100, 2)
    assert np.allclose(sum(stems), mixture, atol=1e-6) and all(np.std(s) > 0.01 for s in stems)
    for s in sources + sidecar["silent"]:
        boxes = np.array(s["boxes"])
        assert boxes.shape == (24, 4)
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= 320) and np.all(boxes[:, 3] <= 180)
        x0, y0, x1, y1 = boxes[round(s["click"]["time"] * 12 - 0.5)]
        assert x0 <= s["click"]["x"] < x1 and y0 <= s["click"]["y"] < y1
