"""``sequencer.pixelplayer_remove``: delete an isolated instrument; the others and the Rest are isolated again."""
from __future__ import annotations

import bpy

from .. import picks


class SEQUENCER_OT_pixelplayer_remove(picks.OnPick, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_remove"
    bl_label = "Remove Instrument"
    bl_description = "Delete this instrument's strip; the other instruments and the Rest are isolated again"

    def act(self, context, editor, strip) -> str:
        name = strip.name
        picks.remove(context, editor, strip)
        return f"Removed '{name}'"


CLASSES = (SEQUENCER_OT_pixelplayer_remove,)
