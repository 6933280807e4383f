"""Phone footage in Blender: the movie strip shows the displayed picture, and clicks and markers land on it."""
import bpy
import numpy as np
import pytest
from blend import add_movie, by_role, drawn_where_mapped, new_scene, write_clip


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    """The duet stored on its side (180x320) with a display matrix turning it to 320x180."""
    return write_clip(tmp_path_factory.mktemp("media") / "phone.mp4", seconds=4.0, width=320, height=180,
                      rotation=270)


def test_clicks_land_where_blender_shows_the_instrument(extension, phone, tmp_path):
    scene = new_scene("rotation", 400, 300)
    scene.view_settings.view_transform = "Standard"
    movie = add_movie(scene, phone.path)
    # Blender itself turns the picture by the display matrix: the strip's image is the displayed 320x180.
    assert (movie.elements[0].orig_width, movie.elements[0].orig_height) == (320, 180)
    t = movie.transform
    t.offset_x, t.offset_y, t.rotation = 20, -10, 0.15
    scene.render.filepath = str(tmp_path / "frame.png")
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)
    pixels = np.array(bpy.data.images.load(scene.render.filepath).pixels[:], np.float32).reshape(300, 400, 4)

    assert bpy.ops.sequencer.pixelplayer_analyze() == {"FINISHED"}
    analysis = extension.blender.pure.session.current.analyses.get(extension.blender.strips.media_path(movie))
    video = analysis.info.video
    assert (video.width, video.height, video.rotation) == (320, 180, 270)
    geometry, viewmap = extension.blender.geometry, extension.blender.pure.viewmap
    frame, placement = geometry.frame(scene), geometry.placement(movie, video.width, video.height)
    time = (scene.frame_current - movie.frame_start) / scene.render.fps
    drawn_where_mapped(viewmap, pixels, [phone.point(index, time) for index in range(2)], frame, placement)
    x, y = phone.point(1, time)
    assert x > 180  # outside the stored picture's width: only the displayed frame has it
    assert bpy.ops.sequencer.pixelplayer_pick(x=x, y=y) == {"FINISHED"}
    assert len(by_role(scene, "pick")) == 1
