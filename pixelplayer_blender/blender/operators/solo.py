"""``sequencer.pixelplayer_solo``: hear one isolated instrument (with the Rest); again: hear them all."""
from __future__ import annotations

import bpy

from .. import picks


class SEQUENCER_OT_pixelplayer_solo(picks.OnPick, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_solo"
    bl_label = "Solo Instrument"
    bl_description = "Mute the other isolated instruments of this movie (again: unmute them)"

    def act(self, context, editor, strip, at_once: bool) -> set[str]:
        picks.solo(editor, strip)
        self.report({"INFO"}, f"Soloed '{strip.name}'" if picks.soloed(editor, strip) else "Every instrument plays")
        return {"FINISHED"}


CLASSES = (SEQUENCER_OT_pixelplayer_solo,)
