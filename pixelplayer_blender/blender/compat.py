"""The differences between Blender 4.2 LTS, 4.5 LTS and 5.0 that this extension meets, in one place.

- 4.2 names the strip types ``Sequence``/``MovieSequence``/``SoundSequence`` and keeps them in
  ``SequenceEditor.sequences``; 4.4+ call them ``Strip``/``MovieStrip``/``SoundStrip`` and add
  ``strips``; 5.0 has only ``strips``.
- 5.0 edits the workspace's ``context.sequencer_scene``, which may differ from ``context.scene``.
"""
from __future__ import annotations

import bpy


def sequencer_scene(context: bpy.types.Context) -> bpy.types.Scene | None:
    """The scene whose sequencer the user edits."""
    return getattr(context, "sequencer_scene", None) or context.scene


def top_strips(editor: bpy.types.SequenceEditor):
    """The editor's top-level strip collection (with ``new_movie``, ``new_sound``, ``remove`` ...)."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def all_strips(editor: bpy.types.SequenceEditor):
    """Every strip, including those inside meta strips."""
    return editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all



def fcurve(id_data: bpy.types.ID, data_path: str, index: int = 0):
    """The F-curve animating ``data_path`` of ``id_data``, if any.

    4.4+ keep F-curves in the action slot's channel bag (5.0 only there); 4.2 in ``Action.fcurves``.
    """
    anim = id_data.animation_data
    action = anim.action if anim else None
    if action is None:
        return None
    try:
        from bpy_extras.anim_utils import action_get_channelbag_for_slot
    except ImportError:
        curves = action.fcurves
    else:
        bag = action_get_channelbag_for_slot(action, anim.action_slot)
        curves = bag.fcurves if bag else ()
    return next((c for c in curves if c.data_path == data_path and c.array_index == index), None)
