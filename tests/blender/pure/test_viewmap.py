"""The preview-click mapping: view <-> source pixel, and timeline frame -> source time.

The expected numbers in TestMeasuredRenders were measured on real renders of Blender 4.5 and 5.0
(tests/blender/bpy_checks.py re-checks them against the renderer in those venvs).
"""
import math
import random

import pytest

from pixelplayer_blender.blender.pure.viewmap import (
    Crop, Frame, Placement, Timing, frame_to_view, source_to_view, view_to_frame, view_to_source,
)

HD = Frame(1920, 1080)


def approx(pair, abs=1e-6):
    return pytest.approx(pair, abs=abs)


class TestUntransformed:
    def test_full_frame_movie_maps_centre_and_corners(self):
        movie = Placement(1920, 1080)
        assert view_to_source(0, 0, HD, movie) == approx((960, 540))
        # View y grows upwards, source y downwards (origin top-left).
        assert view_to_source(-960, 540 - 1e-9, HD, movie) == approx((0, 0))
        assert view_to_source(959.5, -539.5, HD, movie) == approx((1919.5, 1079.5))

    def test_smaller_movie_is_centred_and_clicks_beside_it_miss(self):
        movie = Placement(640, 360)
        assert view_to_source(0, 0, HD, movie) == approx((320, 180))
        assert view_to_source(-319, 179, HD, movie) == approx((1, 1))
        assert view_to_source(-321, 0, HD, movie) is None
        assert view_to_source(0, 181, HD, movie) is None

    def test_scale_to_fit_uses_the_strip_scale(self):
        # A 640x360 movie added with "Scale to Fit" into 1920x1080 gets scale 3.
        movie = Placement(640, 360, scale_x=3, scale_y=3)
        assert view_to_source(-960 + 30, 540 - 30, HD, movie) == approx((10, 10))

    def test_pixel_aspect_stretches_view_x(self):
        frame = Frame(720, 576, pixel_aspect=16 / 15)
        movie = Placement(720, 576)
        assert view_to_frame(0, 0, frame) == approx((360, 288))
        assert view_to_source(360 * 16 / 15 - 1e-9, 0, frame, movie) == approx((720, 288))
        assert frame_to_view(*view_to_frame(123.0, -45.0, frame), frame) == approx((123.0, -45.0))


class TestTransforms:
    def test_offset_moves_the_image(self):
        movie = Placement(1920, 1080, offset_x=100, offset_y=-50)
        assert view_to_source(100, -50, HD, movie) == approx((960, 540))

    def test_quarter_turn_about_the_centre(self):
        movie = Placement(1000, 1000, rotation=math.pi / 2)
        # The image's right edge middle (source x=1000, y=500) turns to the top middle.
        assert source_to_view(1000, 500, HD, movie) == approx((0, 500))
        assert view_to_source(0, 499, HD, movie) == approx((999, 500))

    def test_rotation_about_a_corner_origin(self):
        movie = Placement(400, 200, origin_x=0, origin_y=0, rotation=math.pi)
        # Pivot is the image's bottom-left corner, which sits at frame (760, 440).
        assert source_to_view(0, 200, HD, movie) == approx((760 - 960, 440 - 540))
        assert source_to_view(400, 200, HD, movie) == approx((360 - 960, 440 - 540))

    def test_flips_mirror_about_the_frame_centre_after_the_offset(self):
        movie = Placement(1920, 1080, offset_x=200, flip_x=True)
        # Unflipped, source centre would show at view x=200; flipped it shows at -200.
        assert source_to_view(960, 540, HD, movie) == approx((-200, 0))
        assert view_to_source(-210, 0, HD, movie) == approx((970, 540))
        flipped_y = Placement(1920, 1080, offset_y=100, flip_y=True)
        assert source_to_view(960, 0, HD, flipped_y) == approx((0, -640))

    def test_zero_scale_is_an_error_not_a_division(self):
        with pytest.raises(ValueError):
            view_to_source(0, 0, HD, Placement(100, 100, scale_x=0))

    @pytest.mark.parametrize("seed", range(20))
    def test_round_trip_through_random_placements(self, seed):
        rng = random.Random(seed)
        frame = Frame(rng.choice([640, 1280, 1920]), rng.choice([360, 720, 1080]), rng.choice([1.0, 16 / 15, 0.9]))
        movie = Placement(
            rng.randint(64, 2000), rng.randint(64, 2000),
            offset_x=rng.uniform(-300, 300), offset_y=rng.uniform(-300, 300),
            scale_x=rng.choice([-1, 1]) * rng.uniform(0.2, 4), scale_y=rng.uniform(0.2, 4),
            rotation=rng.uniform(-math.pi, math.pi), origin_x=rng.random(), origin_y=rng.random(),
            flip_x=rng.random() < 0.5, flip_y=rng.random() < 0.5,
        )
        x, y = rng.uniform(0, movie.width), rng.uniform(0, movie.height)
        view = source_to_view(x, y, frame, movie)
        assert view_to_source(*view, frame, movie) == approx((x, y), abs=1e-6)


class TestCrop:
    movie = Placement(1920, 1080, crop=Crop(left=100, right=50, top=200, bottom=10))

    def test_cropped_margins_miss(self):
        assert view_to_source(-960 + 99, 0, HD, self.movie) is None  # left margin
        assert view_to_source(960 - 49, 0, HD, self.movie) is None  # right margin
        assert view_to_source(0, 540 - 199, HD, self.movie) is None  # top margin: source y < 200
        assert view_to_source(0, -540 + 9, HD, self.movie) is None  # bottom margin

    def test_crop_does_not_move_the_visible_pixels(self):
        assert view_to_source(-960 + 101, 540 - 201, HD, self.movie) == approx((101, 201))


class TestMeasuredRenders:
    """A 200x100 image in a 320x240 frame; marker at source (31.5, 21); frame pixels measured."""

    frame = Frame(320, 240)

    @pytest.mark.parametrize("placement, expected", [
        (Placement(200, 100), (91.5, 149.0)),
        (Placement(200, 100, flip_x=True), (228.5, 149.0)),
        (Placement(200, 100, offset_x=40, offset_y=10, flip_x=True), (188.5, 159.0)),
        (Placement(200, 100, offset_x=10, rotation=0.3, flip_y=True), (96.0, 112.5)),
        (Placement(200, 100, origin_x=0, origin_y=0, rotation=0.5, scale_x=1.5, scale_y=0.8), (71.2, 148.2)),
    ])
    def test_marker_lands_where_blender_drew_it(self, placement, expected):
        view = source_to_view(31.5, 21.0, self.frame, placement)
        assert view_to_frame(*view, self.frame) == approx(expected, abs=0.1)


class TestTiming:
    # Content starts at frame 10, 100 frames long (4 s of media), trimmed to frames 30..80.
    timing = Timing(frame_start=10, final_start=30, final_end=80, content_frames=100, duration=4.0)

    def test_time_follows_the_content_start_not_the_trim(self):
        assert self.timing.source_time(30) == pytest.approx(0.8)
        assert self.timing.source_time(79) == pytest.approx(2.76)

    def test_frames_outside_the_visible_range_have_no_time(self):
        assert self.timing.source_time(29) is None
        assert self.timing.source_time(80) is None

    def test_reversed_strip_plays_backwards(self):
        reverse = Timing(frame_start=10, final_start=10, final_end=110, content_frames=100, duration=4.0, reverse=True)
        assert reverse.source_time(10) == pytest.approx(3.96)
        assert reverse.source_time(109) == pytest.approx(0.0)

    def test_fractional_frames_between_frames(self):
        assert self.timing.source_time(30.5) == pytest.approx(0.82)
