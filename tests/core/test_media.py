"""Media I/O on real files in several containers, codecs, rates and layouts."""
from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile

from pixelplayer_blender.core import media
from pixelplayer_blender.core.errors import PixelPlayerError

def test_probe_and_decode_every_format(format_clip):
    clip = format_clip
    info = media.probe(clip.path)
    assert info.video.width == clip.width and info.video.height == clip.height
    assert info.audio.sample_rate == clip.sample_rate
    assert info.audio.channels == clip.channels
    audio = media.decode_audio(clip.path)
    assert audio.dtype == np.float32 and audio.shape[0] == clip.channels
    # Encoders pad up to two codec frames (MP3 in AVI keeps its priming): never more than 100 ms.
    assert abs(audio.shape[1] / clip.sample_rate - clip.seconds) < 0.1
    assert 0.01 < np.sqrt(np.mean(audio**2)) < 1.0


def test_resample_to_model_rate_mono(format_clip):
    clip = format_clip
    audio = media.decode_audio(clip.path)
    mono = media.resample(audio, clip.sample_rate, media.probe(clip.path).audio.layout, 11025, mono=True)
    assert mono.shape[0] == 1
    assert abs(mono.shape[1] - audio.shape[1] * 11025 / clip.sample_rate) <= 2
    direct = media.decode_audio(clip.path, sample_rate=11025, mono=True)
    n = min(direct.shape[1], mono.shape[1])
    assert np.allclose(direct[:, :n], mono[:, :n], atol=1e-4)


def test_frame_reader_shows_the_instruments(duet):
    with media.FrameReader(duet.path) as reader:
        for t in (2.0, 0.0, 7.5, 3.3):  # out of order, and across seeks
            frame = reader.frame_at(t)
            assert frame.shape == (duet.height, duet.width, 3)
            for inst in range(2):
                x, y = duet.point(inst, t)
                colour = np.array(duet.instruments[inst].colour)
                assert np.abs(frame[y + 5, x].astype(int) - colour).max() < 40


def test_frame_reader_scales_at_decode(duet):
    with media.FrameReader(duet.path, (64, 48)) as reader:
        assert reader.frame_at(1.0).shape == (48, 64, 3)


@pytest.mark.parametrize("name, codec", [("bframes.mp4", None), ("vp8.webm", None), ("mpeg4.avi", None),
                                         ("ffv1.mkv", "ffv1")])
def test_sampled_frames_are_at_most_a_few_frames_early(make_clip, name, codec):
    clip = make_clip(name, seconds=4.0, width=160, height=96, video_codec=codec, audio=False)
    with media.FrameReader(clip.path, (80, 48), sampled=True) as sampled, \
            media.FrameReader(clip.path, (80, 48)) as every:
        for t in (0.5, 3.7, 1.3, 1.32, 2.9):  # out of order, and across seeks
            frame = sampled.frame_at(t)
            assert frame.shape == (48, 80, 3)
            assert any(np.array_equal(frame, every.frame_at(t - k / clip.fps)) for k in range(5)), t


def test_write_audio_round_trip(tmp_path):
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 12345)).astype(np.float32)
    wav = media.write_audio(tmp_path / "x.wav", audio, 44100)
    back, rate = soundfile.read(wav, always_2d=True, dtype="float32")
    assert rate == 44100 and np.array_equal(back.T, audio)
    flac = media.write_audio(tmp_path / "x.flac", audio, 96000)
    back, rate = soundfile.read(flac, always_2d=True, dtype="float32")
    assert rate == 96000 and np.abs(back.T - audio).max() < 1e-6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.flac", "x.wav"]  # no temporary left behind
    with pytest.raises(PixelPlayerError, match="unsupported audio format"):
        media.write_audio(tmp_path / "x.mp3", audio, 44100)


def test_remux_keeps_video_packets_untouched(duet, tmp_path):
    audio = media.decode_audio(duet.path)
    out = media.write_video_with_audio(duet.path, tmp_path / "remix.mp4", -audio, duet.sample_rate, "stereo")

    def video_packets(path):
        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]

    assert video_packets(out) == video_packets(duet.path)
    remixed = media.decode_audio(out)
    n = min(remixed.shape[1], audio.shape[1])
    # AAC is lossy and may shift by its priming delay: compare energy and polarity.
    corr = np.sum(remixed[:, :n] * audio[:, :n]) / np.sqrt(np.sum(remixed[:, :n] ** 2) * np.sum(audio[:, :n] ** 2))
    assert corr < -0.9


def test_missing_and_corrupt_files(tmp_path, duet):
    with pytest.raises(PixelPlayerError, match="no such file"):
        media.probe(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\0not a video" * 100)
    with pytest.raises(PixelPlayerError, match="cannot read"):
        media.probe(junk)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(duet.path.read_bytes()[: duet.path.stat().st_size // 2])
    with pytest.raises(PixelPlayerError):
        media.decode_audio(truncated)
