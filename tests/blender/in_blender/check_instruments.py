"""The panel's instrument list: solo, remove (with undo), the panel's drawing and the overlay's data."""
import bpy
import numpy as np
import pytest
from blend import PACKAGE, by_role, drawn, picked, role, sound_path, strips


@pytest.fixture
def duet(extension, clip):
    return picked("instruments", clip)


def mutes(scene):
    return {s.name: s.mute for s in strips(scene) if s.type == "SOUND"}


def undoable(operator, **props):
    """Run ``operator`` as the UI does (with its own undo step) after a step to undo back to."""
    bpy.ops.ed.undo_push(message="before")
    assert operator("EXEC_DEFAULT", True, **props) == {"FINISHED"}


def test_solo_mutes_the_other_picks_not_the_rest_and_toggles_back(duet, extension):
    scene, movie = duet
    first, second = by_role(scene, "pick")
    picks = extension.blender.picks
    before = mutes(scene)
    undoable(bpy.ops.sequencer.pixelplayer_solo, strip=first.name)
    first, second = by_role(scene, "pick")
    assert (first.mute, second.mute, by_role(scene, "rest")[0].mute) == (False, True, False)
    assert picks.soloed(scene.sequence_editor, first) and not picks.soloed(scene.sequence_editor, second)
    assert bpy.ops.sequencer.pixelplayer_solo(strip=second.name) == {"FINISHED"}
    assert (first.mute, second.mute) == (True, False)
    assert bpy.ops.sequencer.pixelplayer_solo(strip=second.name) == {"FINISHED"}
    assert mutes(scene) == before
    bpy.ops.sequencer.pixelplayer_solo(strip=first.name)
    assert bpy.ops.ed.undo() == {"FINISHED"}
    assert mutes(bpy.context.scene) == before


def parts_sum(scene):
    return sum(extension_media().decode_audio(sound_path(s)) for s in by_role(scene, "pick") + by_role(scene, "rest"))


def extension_media():
    import importlib

    return importlib.import_module(PACKAGE + ".core.media")


def test_remove_reisolates_the_others_so_everything_still_adds_up_and_undoes(duet):
    scene, movie = duet
    original = extension_media().decode_audio(movie.filepath)
    first, second = by_role(scene, "pick")
    kept, kept_file = second.name, sound_path(second)
    files = sorted(sound_path(s) for s in by_role(scene, "pick") + by_role(scene, "rest"))
    undoable(bpy.ops.sequencer.pixelplayer_remove, strip=first.name)
    scene = bpy.context.scene
    assert [s.name for s in by_role(scene, "pick")] == [kept] and len(by_role(scene, "rest")) == 1
    assert sound_path(by_role(scene, "pick")[0]) != kept_file  # isolated again, alone
    np.testing.assert_allclose(parts_sum(scene), original, atol=1e-5)
    assert by_role(scene, "muted")[0].mute
    assert bpy.ops.ed.undo() == {"FINISHED"}
    scene = bpy.context.scene
    assert sorted(sound_path(s) for s in by_role(scene, "pick") + by_role(scene, "rest")) == files
    np.testing.assert_allclose(parts_sum(scene), original, atol=1e-5)


def test_picks_stored_as_lists_by_older_versions_still_work(duet, extension):
    scene, movie = duet
    first, second = by_role(scene, "pick")
    query = extension.core.query
    stored = query.from_stored(first["pixelplayer"]["query"])
    assert isinstance(stored, query.Point)
    first["pixelplayer"]["query"] = [stored.x, stored.y, stored.time]  # how 0.1 saved a point pick
    original = extension_media().decode_audio(movie.filepath)
    assert bpy.ops.sequencer.pixelplayer_remove(strip=second.name) == {"FINISHED"}
    scene = bpy.context.scene
    np.testing.assert_allclose(parts_sum(scene), original, atol=1e-5)
    markers = extension.blender.preview_overlay.current(scene)[3].markers
    assert [(m.x, m.y) for m in markers] == [(stored.x, stored.y)]


def test_a_pick_can_be_named_and_everything_still_adds_up(duet, extension):
    scene, movie = duet
    first = by_role(scene, "pick")[0]
    model = extension.blender.pure.session.current.separator.model
    # the bundled model keeps a sound for each name it trained on, and one fitted to the recordings of
    # those it had no photos of
    assert {"violin", "cello", "double bass"} <= set(model.metadata["prototypes"])
    with pytest.raises(RuntimeError, match="knows no instrument called 'bagpipes'"):
        bpy.ops.sequencer.pixelplayer_name(strip=first.name, instrument="bagpipes")
    original = extension_media().decode_audio(movie.filepath)
    bundled = model.metadata["prototypes"]
    model.metadata["prototypes"] = {**bundled, "bagpipes": [0.5] * model.net.config.k}  # as if trained with bagpipes
    try:
        assert bpy.ops.sequencer.pixelplayer_name(strip=first.name, instrument="bagpipes") == {"FINISHED"}
        named = by_role(bpy.context.scene, "pick")[0]
        assert named.name.startswith("bagpipes") and named["pixelplayer"]["query"]["name"] == "bagpipes"
        np.testing.assert_allclose(parts_sum(bpy.context.scene), original, atol=1e-5)
        assert bpy.ops.sequencer.pixelplayer_name(strip=named.name, instrument="") == {"FINISHED"}
        assert "name" not in by_role(bpy.context.scene, "pick")[0]["pixelplayer"]["query"]
    finally:
        model.metadata["prototypes"] = bundled


def test_isolated_picks_change_the_scene_only_if_they_are_still_those_isolated(duet, extension):
    scene, movie = duet
    picks, editor = extension.blender.picks, scene.sequence_editor
    before = picks.current(editor, movie)
    assert [name for name, _ in before] == [s.name for s in by_role(scene, "pick")]
    assert picks.still(editor, movie.name, before) == movie
    by_role(scene, "pick")[0].name = "renamed meanwhile"
    with pytest.raises(extension.blender.errors.UserError, match="changed while they were isolated"):
        picks.still(editor, movie.name, before)
    with pytest.raises(extension.blender.errors.UserError, match="changed while they were isolated"):
        picks.still(editor, "no such movie", before)


def test_removing_every_pick_restores_the_movie_sound(duet):
    scene, movie = duet
    for pick in by_role(scene, "pick"):
        assert bpy.ops.sequencer.pixelplayer_remove(strip=pick.name) == {"FINISHED"}
    assert [role(s) for s in strips(scene)] == [None, None]
    assert not any(s.mute for s in strips(scene))


def test_solo_and_remove_refuse_strips_that_are_not_picks(duet):
    scene, movie = duet
    for operator in (bpy.ops.sequencer.pixelplayer_solo, bpy.ops.sequencer.pixelplayer_remove):
        with pytest.raises(RuntimeError, match="'Rest' is not an isolated instrument"):
            operator(strip="Rest")
        with pytest.raises(RuntimeError, match="no strip called 'nothing'"):
            operator(strip="nothing")


def test_panel_lists_the_instruments_with_level_solo_mute_and_remove(duet):
    scene, movie = duet
    first, second = by_role(scene, "pick")
    calls = drawn(bpy.types.SEQUENCER_PT_pixelplayer.draw)
    for strip in (first, second, by_role(scene, "rest")[0]):
        assert {("prop", strip.name, "volume"), ("prop", strip.name, "mute"), ("prop", strip.name, "color_tag")} <= set(calls)
    for pick in (first, second):
        assert ("set", "sequencer.pixelplayer_solo", "strip", pick.name) in calls
        assert ("set", "sequencer.pixelplayer_remove", "strip", pick.name) in calls
        assert ("pointer", "pixelplayer_pick", pick.name) in calls
    assert calls.count(("menu", "SEQUENCER_MT_pixelplayer_instrument")) == 2
    assert ("label", "Analysed") in calls and ("operator", "sequencer.pixelplayer_bake") in calls
    assert ("prop", bpy.context.window_manager.name, "pixelplayer_overlay") in calls
    assert {"device", "threads", "stem_folder"} <= {c[2] for c in calls if c[0] == "prop"}


def test_overlay_toggle_adds_and_removes_the_draw_handler(extension):
    preview, wm = extension.blender.preview_overlay, bpy.context.window_manager
    assert not preview.enabled()
    wm.pixelplayer_overlay = True
    assert preview.enabled()
    assert bpy.ops.preferences.addon_disable(module=PACKAGE) == {"FINISHED"}
    assert not preview.enabled() and not hasattr(wm, "pixelplayer_overlay")
    assert bpy.ops.preferences.addon_enable(module=PACKAGE) == {"FINISHED"}
    wm.pixelplayer_overlay = True
    assert preview.enabled()
    wm.pixelplayer_overlay = False
    assert not preview.enabled()


def test_overlay_shows_the_sound_map_at_the_playhead_and_a_marker_per_pick(duet, extension, clip):
    scene, movie = duet
    blender = extension.blender
    movie_, analysis, time, layer = blender.preview_overlay.current(scene)
    assert movie_ == movie and time == pytest.approx((scene.frame_current - movie.frame_start) / 25)
    np.testing.assert_array_equal(layer.rgba, blender.pure.overlay_layer.layer(analysis, time, []).rgba)
    theme = bpy.context.preferences.themes[0].strip_color
    picks = by_role(scene, "pick")
    for index, (marker, pick) in enumerate(zip(layer.markers, picks)):
        assert (marker.x, marker.y) == pytest.approx(clip.point(index, time))
        assert marker.colour == pytest.approx(tuple(theme[int(pick.color_tag[-2:]) - 1].color))
        assert marker.label == pick.name
    scene.frame_current = int(movie.frame_final_end) + 5
    assert blender.preview_overlay.current(scene) is None
