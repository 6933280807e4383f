"""``sequencer.pixelplayer_pick``: a click on an instrument becomes its sound strip.

Every pick re-isolates all picks of the movie together (so picks plus "Rest" always add up to the
original), writes each stem to a new file, and only then changes the scene: one undo step.
"""
from __future__ import annotations

import bpy

from . import geometry, session, stems, strips
from .analyze import failure
from .viewmap import view_to_source

CLICK_PIXELS = 4  # a press and release further apart than this is a drag: a region pick


def to_query(values: list[float]):
    from ..core.stem import Point, Region

    return Point(*values) if len(values) == 3 else Region(*values)


def analysis_of(movie, path: str):
    """The session's analysis of ``movie``'s media at ``path``; a clear error if there is none yet."""
    analysis = session.current.analyses.get(path)
    if analysis is None:
        raise strips.UserError(f"Analyze '{movie.name}' first")
    return analysis


def separate(context, path: str, analysis, queries: list[list[float]]) -> tuple[list, list[str], str]:
    """Isolate ``queries`` together and write each stem and the rest: (stems, their files, the rest's file)."""
    separation = session.current.separator.isolate(analysis, [to_query(q) for q in queries])
    folder = stems.folder(context)
    files = [stems.write(folder, stems.file_name(path, stem.label, queries, i), stem.audio,
                         separation.sample_rate, path) for i, stem in enumerate(separation.sources)]
    rest_file = stems.write(folder, stems.file_name(path, "rest", queries, len(queries)), separation.residual,
                            separation.sample_rate, path)
    return separation.sources, files, rest_file


def pick(context, values: list[float]):
    """Add the strip for query ``values`` ([x, y] or [x0, y0, x1, y1], source pixels) at the playhead."""
    scene, movie = strips.active_movie(context)
    path = strips.media_path(movie)
    analysis = analysis_of(movie, path)
    time = geometry.timing(movie, analysis.info.duration).source_time(scene.frame_current)
    if time is None:
        raise strips.UserError(f"The playhead is not over '{movie.name}'")
    editor = scene.sequence_editor
    picks = strips.made_for(editor, movie, "pick")
    rest = strips.made_for(editor, movie, "rest")
    queries = [strips.query(s) for s in picks] + [[*values, time]]
    sources, files, rest_file = separate(context, path, analysis, queries)

    for strip, file in zip(picks, files):
        strips.set_sound(strip, file)
    index = max((s[strips.KEY]["index"] for s in picks), default=-1) + 1
    added = strips.add_sound(editor, movie, sources[-1].label, files[-1], "pick", index=index, query=queries[-1])
    added.color_tag = strips.COLOR_TAGS[index % len(strips.COLOR_TAGS)]
    if rest:
        strips.set_sound(rest[0], rest_file)
    else:
        own = strips.own_sound(editor, movie)
        strips.add_sound(editor, movie, "Rest", rest_file, "rest")
        if own is not None:
            own.mute = True
            own[strips.KEY] = {"movie": movie.name, "role": "muted"}
    return added


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


class SEQUENCER_OT_pixelplayer_pick(bpy.types.Operator):
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

    def execute(self, context) -> set[str]:
        if min(self.x, self.y) < 0:
            self.report({"ERROR"}, "Give x and y in the movie's pixels, or click in the preview")
            return {"CANCELLED"}
        if min(self.x_end, self.y_end) < 0:
            values = [self.x, self.y]
        else:
            values = [min(self.x, self.x_end), min(self.y, self.y_end), max(self.x, self.x_end), max(self.y, self.y_end)]
        try:
            added = pick(context, values)
        except Exception as error:
            level, text = failure(error, "Pick")
            self.report({level}, text)
            return {"CANCELLED"}
        self.report({"INFO"}, f"Added '{added.name}' on channel {added.channel}")
        return {"FINISHED"}

    def invoke(self, context, event) -> set[str]:
        if min(self.x, self.y) >= 0:
            return self.execute(context)
        self._press = None
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
        except strips.UserError:
            return None
        analysis = session.current.analyses.get(strips.media_path(movie))
        if analysis is None:
            return None
        view = region.view2d.region_to_view(event.mouse_x - region.x, event.mouse_y - region.y)
        video = analysis.info.video
        return view_to_source(*view, geometry.frame(scene), geometry.placement(movie, video.width, video.height))

    def modal(self, context, event) -> set[str]:
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
        self.x, self.y = start
        if max(abs(event.mouse_x - px), abs(event.mouse_y - py)) > CLICK_PIXELS:
            self.x_end, self.y_end = end
        return self.execute(context)


CLASSES = (SEQUENCER_OT_pixelplayer_pick,)
