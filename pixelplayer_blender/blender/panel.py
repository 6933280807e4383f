"""The "PixelPlayer" tab in the sequencer sidebar, for the active movie strip."""
from __future__ import annotations

import os

import bpy

from . import picks, prefs, strips
from .pure import deps, session


def _state(movie) -> str:
    path = strips.movie_file(movie)
    for action, doing in ((session.ANALYSIS, "Analysing"), (session.ISOLATION, "Isolating")):
        job = session.current.jobs.get(action)
        if job is not None and job.subject == path:
            return f"{doing}: {job.message} {job.fraction:.0%}"
    if not os.path.isfile(path):
        return "Media file missing"
    return "Analysed" if path in session.current.analyses else "Not analysed"


class SEQUENCER_MT_pixelplayer_instrument(bpy.types.Menu):
    """Which instrument a pick is: the model's named instruments, or what the picture says."""

    bl_idname = "SEQUENCER_MT_pixelplayer_instrument"
    bl_label = "Instrument"

    def draw(self, context) -> None:
        strip = getattr(context, "pixelplayer_pick", None)
        if strip is None:
            return
        model = session.current.separator.model if session.current.separator is not None else None
        names = sorted(model.metadata.get("prototypes", {})) if model is not None else []
        self.layout.operator("sequencer.pixelplayer_name", text="From the Picture").strip = strip.name
        if not names:
            self.layout.label(text="This model knows no instrument names")
        for instrument in names:
            item = self.layout.operator("sequencer.pixelplayer_name", text=instrument.title())
            item.strip, item.instrument = strip.name, instrument


class SEQUENCER_PT_pixelplayer(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "PixelPlayer"
    bl_label = "PixelPlayer"

    def draw(self, context) -> None:
        layout = self.layout
        for module in deps.missing():
            layout.label(text=deps.ADVICE[module], icon="ERROR")
        scene, movie = strips.active_strip(context)
        if movie is None or movie.type != "MOVIE":
            layout.label(text="Make a movie strip active", icon="INFO")
            return
        layout.label(text=_state(movie))
        row = layout.row(align=True)
        row.operator("sequencer.pixelplayer_analyze", icon="VIEWZOOM")
        row.operator("sequencer.pixelplayer_pick", icon="EYEDROPPER")
        editor = scene.sequence_editor
        picked = strips.made_for(editor, movie, "pick")
        if picked:
            box = layout.box()
            box.label(text="Instruments")
            for strip in picked:
                row = _strip_row(box, strip)
                solo = row.operator("sequencer.pixelplayer_solo", text="",
                                    icon="SOLO_ON" if picks.soloed(editor, strip) else "SOLO_OFF")
                solo.strip = strip.name
                row.context_pointer_set("pixelplayer_pick", strip)
                row.menu(SEQUENCER_MT_pixelplayer_instrument.bl_idname, text="", icon="OUTLINER_OB_SPEAKER")
                row.operator("sequencer.pixelplayer_remove", text="", icon="X").strip = strip.name
            for strip in strips.made_for(editor, movie, "rest") + strips.made_for(editor, movie, "bake"):
                _strip_row(box, strip)
            box.operator("sequencer.pixelplayer_bake", icon="SOUND")
        layout.prop(context.window_manager, "pixelplayer_overlay", icon="OVERLAY")
        settings = prefs.get(context)
        col = layout.column(align=True)
        col.label(text="Settings")
        col.prop(settings, "device")
        col.prop(settings, "threads")
        col.prop(settings, "stem_folder")


def _strip_row(layout, strip):
    """A row showing a sound strip's colour, name, level and mute; returns it for more buttons."""
    row = layout.row(align=True)
    row.prop(strip, "color_tag", text="", icon_only=True)
    row.prop(strip, "name", text="")
    row.prop(strip, "volume", text="Level", slider=True)
    row.prop(strip, "mute", text="", icon="MUTE_IPO_ON" if strip.mute else "MUTE_IPO_OFF")
    return row


CLASSES = (SEQUENCER_MT_pixelplayer_instrument, SEQUENCER_PT_pixelplayer)
