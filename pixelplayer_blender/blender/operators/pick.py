"""``sequencer.pixelplayer_pick``: a click on an instrument becomes its sound strip.

Every pick re-isolates all picks of the movie together (:mod:`..picks`: in the background from the UI),
writes each stem to a new file, and only then changes the scene: one undo step.
"""
from __future__ import annotations

import dataclasses

import bpy

from ...core.query import Point, Query, Region

from .. import geometry, picks, strips
from ..errors import UserError, reports
from ..pure import session
from ..pure.viewmap import view_to_source

CLICK_PIXELS = 4  # a press and release further apart than this is a drag: a region pick


def preview_region(context, event):
    """The sequencer preview region under the mouse, if any."""
    for area in context.screen.areas:
        if area.type != "SEQUENCE_EDITOR":
            continue
        for region in area.regions:
            if (region.type == "PREVIEW" and region.x <= event.mouse_x < region.x + region.width
                    and region.y <= event.mouse_y < region.y + region.height):
                return region
    return None


class SEQUENCER_OT_pixelplayer_pick(picks.Isolating, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_pick"
    bl_label = "Pick Instrument"
    bl_description = "Click an instrument in the preview (drag for a region) to add its isolated sound as a strip"
    bl_options = {"REGISTER", "UNDO"}

    x: bpy.props.FloatProperty(name="X", default=-1, options={"SKIP_SAVE"},
                               description="Movie pixel column from the left; negative: click in the preview")
    y: bpy.props.FloatProperty(name="Y", default=-1, options={"SKIP_SAVE"},
                               description="Movie pixel row from the top; negative: click in the preview")
    x_end: bpy.props.FloatProperty(name="X End", default=-1, options={"SKIP_SAVE"},
                                   description="Opposite corner of a region pick (negative: a point)")
    y_end: bpy.props.FloatProperty(name="Y End", default=-1, options={"SKIP_SAVE"},
                                   description="Opposite corner of a region pick (negative: a point)")

    def _clicked(self) -> Query:
        """The query the operator's pixels give (a point, or a region when both corners are given)."""
        if min(self.x, self.y) < 0:
            raise UserError("Give x and y in the movie's pixels, or click in the preview")
        if min(self.x_end, self.y_end) < 0:
            return Point(self.x, self.y)
        return Region(min(self.x, self.x_end), min(self.y, self.y_end), max(self.x, self.x_end),
                      max(self.y, self.y_end))

    def _pick(self, context, at_once: bool) -> set[str]:
        """Isolate the movie's picks with this one (its time from the playhead) added."""
        scene, movie = strips.active_movie(context)
        analysis = picks.analysis_of(movie, strips.media_path(movie))
        time = geometry.timing(movie, analysis.info.duration).source_time(scene.frame_current)
        if time is None:
            raise UserError(f"The playhead is not over '{movie.name}'")
        earlier = [strips.query(s) for s in strips.made_for(scene.sequence_editor, movie, "pick")]
        self._new = dataclasses.replace(self._clicked(), time=time)
        return self.isolate(context, movie, earlier + [self._new], at_once)

    def apply(self, context, editor, movie, sources: list, files: list[str]) -> str:
        earlier = strips.made_for(editor, movie, "pick")
        picks.restem(editor, movie, earlier, files)
        index = max((s[strips.KEY]["index"] for s in earlier), default=-1) + 1
        added = strips.add_sound(editor, movie, sources[-1].label, files[-2], "pick", index=index,
                                 query=strips.stored(self._new))
        added.color_tag = strips.COLOR_TAGS[index % len(strips.COLOR_TAGS)]
        if not strips.made_for(editor, movie, "rest"):
            own = strips.own_sound(editor, movie)
            strips.add_sound(editor, movie, "Rest", files[-1], "rest")
            if own is not None:
                own.mute = True
                own[strips.KEY] = {"movie": movie.name, "role": "muted"}
        return f"Added '{added.name}' on channel {added.channel}"

    @reports("Pick")
    def execute(self, context) -> set[str]:
        return self._pick(context, True)

    @reports("Pick")
    def invoke(self, context, event) -> set[str]:
        if min(self.x, self.y) >= 0:
            return self._pick(context, False)
        self._clicking, self._press = True, None
        context.workspace.status_text_set("PixelPlayer: click an instrument in the preview, drag for a region; "
                                          "Esc cancels")
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _source(self, context, event) -> tuple[float, float] | None:
        region = preview_region(context, event)
        if region is None:
            return None
        try:
            scene, movie = strips.active_movie(context)
        except UserError:
            return None
        analysis = session.current.analyses.get(strips.media_path(movie))
        if analysis is None:
            return None
        view = region.view2d.region_to_view(event.mouse_x - region.x, event.mouse_y - region.y)
        video = analysis.info.video
        return view_to_source(*view, geometry.frame(scene), geometry.placement(movie, video.width, video.height))

    def modal(self, context, event) -> set[str]:
        """Wait for the click; an operator invoked with the click's pixels isolates (the job's own modal)."""
        if not getattr(self, "_clicking", False):
            return super().modal(context, event)
        if event.type in {"ESC", "RIGHTMOUSE"} and event.value == "PRESS":
            context.workspace.status_text_set(None)
            return {"CANCELLED"}
        if event.type != "LEFTMOUSE":
            return {"RUNNING_MODAL"} if event.type == "MOUSEMOVE" else {"PASS_THROUGH"}
        if event.value == "PRESS":
            self._press = (event.mouse_x, event.mouse_y, self._source(context, event))
            return {"RUNNING_MODAL"}
        if event.value != "RELEASE" or self._press is None:
            return {"RUNNING_MODAL"}
        context.workspace.status_text_set(None)
        px, py, start = self._press
        end = self._source(context, event)
        if start is None or end is None:
            self.report({"ERROR"}, "Click inside the movie's image in the preview (after Analyze)")
            return {"CANCELLED"}
        corners = {"x": start[0], "y": start[1]}
        if max(abs(event.mouse_x - px), abs(event.mouse_y - py)) > CLICK_PIXELS:
            corners.update(x_end=end[0], y_end=end[1])
        try:
            bpy.ops.sequencer.pixelplayer_pick("INVOKE_DEFAULT", **corners)
        except RuntimeError:  # bpy.ops raises what the invoked operator reported: the user has seen it
            pass
        return {"CANCELLED"}  # the click itself changes nothing: the pick is the operator it invoked


CLASSES = (SEQUENCER_OT_pixelplayer_pick,)
