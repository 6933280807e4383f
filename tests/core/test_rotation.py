"""Phone footage: a video stored on its side with a display matrix is analysed, clicked and mapped as displayed."""
from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from pixelplayer_blender.core import media, soundmap
from pixelplayer_blender.core.errors import PixelPlayerError
from pixelplayer_blender.core.query import Point
from pixelplayer_blender.core.separator import Separator


@pytest.fixture(scope="module")
def separator(tmp_path_factory):
    return Separator(cache_dir=tmp_path_factory.mktemp("rotation-cache"))


def rotated(make_clip, turn: int):
    """The duet's performance (same picture, same sound), stored turned back by ``turn`` degrees."""
    return make_clip(f"duet-rot{turn}.mp4", seconds=8.0, width=320, height=180, rotation=turn)


def test_clipgen_writes_a_display_matrix_and_probe_reports_the_displayed_size(make_clip):
    clip = rotated(make_clip, 90)
    with av.open(str(clip.path)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (180, 320)  # stored on its side
        assert next(c.decode(stream)).rotation == 90
    video = media.probe(clip.path).video
    assert (video.width, video.height, video.rotation) == (320, 180, 90)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_frames_come_out_as_displayed(make_clip, duet, turn):
    clip = rotated(make_clip, turn)
    with media.FrameReader(clip.path) as reader:
        frame = reader.frame_at(2.0)
        assert frame.shape == (180, 320, 3)
        for i, inst in enumerate(clip.instruments):
            x, y = clip.point(i, 2.0)
            assert np.abs(frame[y + 5, x].astype(int) - inst.colour).max() < 40
    with media.FrameReader(clip.path, (64, 48)) as reader, media.FrameReader(duet.path, (64, 48)) as upright:
        small = reader.frame_at(2.0)
        assert small.shape == (48, 64, 3)
        assert np.abs(small.astype(int) - upright.frame_at(2.0)).mean() < 4


def test_analysis_clicks_and_sound_map_follow_the_displayed_picture(separator, make_clip, duet, tmp_path):
    clip = rotated(make_clip, 270)
    turned, upright = separator.analyze(clip.path), separator.analyze(duet.path)
    # The same displayed picture gives the same sound map, up to compression noise; the stored picture would not.
    same = np.abs(turned.sound_map(2.0) - upright.sound_map(2.0)).mean()
    stored = np.abs(np.rot90(turned.sound_map(2.0)) - upright.sound_map(2.0)).mean()
    assert same < 0.3 * stored
    # A click where the user sees the right-hand instrument (x = 240 is outside the stored 180 px width).
    x, y = clip.point(1, 1.5)
    assert x > 180
    stems = [separator.isolate(a, [Point(x, y, time=1.5)]).sources[0].audio for a in (turned, upright)]
    assert np.corrcoef(stems[0].ravel(), stems[1].ravel())[0, 1] > 0.99  # the other instrument: 0.87
    with pytest.raises(PixelPlayerError, match="outside the 320x180 frame"):
        separator.isolate(turned, [Point(100, 200, time=1.5)])
    png = soundmap.export_png(turned, 2.0, tmp_path / "map.png")
    with Image.open(png) as im:
        assert im.size == (320, 180)
