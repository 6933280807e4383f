"""The overlay's data: the sound map as an RGBA image and the pick markers, from a real analysis."""
import numpy as np
import pytest

from pixelplayer_blender.blender.pure import overlay_layer as overlay
from pixelplayer_blender.core.query import Point, Region
from pixelplayer_blender.core.separator import Separator
from pixelplayer_blender.core import soundmap

from clipgen import write_clip


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overlay")
    clip = write_clip(folder / "duet.mp4", seconds=3.0)
    return Separator(cache_dir=folder / "cache").analyze(clip.path)


def test_image_is_the_cores_sound_map_layer_on_the_clip_scale(analysis):
    layer = overlay.layer(analysis, 1.0, [])
    raw = analysis.sound_map(1.0)
    low, high = overlay.heat_range(analysis)
    assert layer.rgba.shape == (*raw.shape, 4) and layer.rgba.dtype == np.float32
    assert 0 <= layer.rgba.min() and layer.rgba.max() <= 1
    np.testing.assert_array_equal(layer.rgba, soundmap.layer(raw, low, high))
    heat = (raw - low) / (high - low)
    assert (layer.rgba[heat < soundmap.CONFIDENT, 3] == 0).all()  # not confident: the picture shows through
    shown = (heat - soundmap.CONFIDENT) / (1 - soundmap.CONFIDENT)
    confident = heat >= soundmap.CONFIDENT
    np.testing.assert_allclose(layer.rgba[confident, 3], soundmap.ALPHA * shown[confident], atol=1e-6)
    assert low <= raw.min() and raw.max() <= high


def test_the_range_is_clip_wide_unless_given(analysis):
    maps = np.asarray(analysis.sound_maps, np.float32)
    assert overlay.heat_range(analysis) == (maps.min(), maps.max())
    low, high = float(analysis.sound_map(0.5).min()), float(analysis.sound_map(0.5).max())
    alpha = overlay.layer(analysis, 0.5, [], scale=(low, high)).rgba[..., 3]
    assert alpha.min() == 0 and alpha.max() == pytest.approx(soundmap.ALPHA)


def test_markers_sit_on_point_picks_and_region_centres(analysis):
    picks = [(Point(40.0, 60.0, 0.5), (1.0, 0.0, 0.0), "violin"),
             (Region(10.0, 20.0, 30.0, 60.0, 1.5), (0.0, 0.0, 1.0), "cello")]
    markers = overlay.layer(analysis, 1.0, picks).markers
    assert markers == (overlay.Marker(40.0, 60.0, (1.0, 0.0, 0.0), "violin"),
                       overlay.Marker(20.0, 40.0, (0.0, 0.0, 1.0), "cello"))
