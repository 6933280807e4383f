"""The click mapping against Blender's own renderer, on a transformed and cropped movie strip."""
import bpy
import numpy as np
import pytest
from blend import add_movie, drawn_where_mapped, new_scene


@pytest.fixture
def placed(extension, clip, tmp_path):
    """The duet in a larger 4:3 frame, moved, scaled, rotated about an off-centre origin, flipped and cropped."""
    scene = new_scene("mapping", 480, 360)
    scene.view_settings.view_transform = "Standard"
    movie = add_movie(scene, clip.path, sound=False)
    t = movie.transform
    t.offset_x, t.offset_y, t.scale_x, t.scale_y, t.rotation, t.origin = 30, -20, 1.2, 0.9, 0.2, (0.4, 0.6)
    movie.use_flip_x = True
    movie.crop.min_x, movie.crop.max_y = 12, 6
    scene.render.filepath = str(tmp_path / "frame.png")
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(scene.render.filepath)
    pixels = np.array(image.pixels[:], dtype=np.float32).reshape(360, 480, 4)
    geometry = extension.blender.geometry
    return scene, movie, pixels, geometry.frame(scene), geometry.placement(movie, clip.width, clip.height)


def test_instruments_render_where_the_mapping_puts_them(placed, clip, extension):
    scene, movie, pixels, frame, placement = placed
    viewmap = extension.blender.pure.viewmap
    time = (scene.frame_current - movie.frame_start) / scene.render.fps
    points = [clip.point(index, time) for index in range(2)]
    for (x, y), view in zip(points, drawn_where_mapped(viewmap, pixels, points, frame, placement)):
        assert viewmap.view_to_source(*view, frame, placement) == pytest.approx((x, y))


def test_cropped_margin_is_not_clickable(placed, extension):
    scene, movie, pixels, frame, placement = placed
    viewmap = extension.blender.pure.viewmap
    view = viewmap.source_to_view(5, 120, frame, placement)  # inside the 12-pixel left crop
    assert viewmap.view_to_source(*view, frame, placement) is None
    fx, fy = viewmap.view_to_frame(*view, frame)
    assert pixels[int(fy), int(fx), 3] == 0  # Blender shows nothing there either
