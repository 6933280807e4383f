"""``sequencer.pixelplayer_name``: say which instrument a pick is; every pick is isolated again.

A named pick follows the sound the model keeps for that name (its prototype feature, tuned to the clip
by ear: :mod:`...core.eartune`) and is named after it; an empty name goes back to what the picture says.
The pick keeps its new name only once the isolation has succeeded.
"""
from __future__ import annotations

import dataclasses

import bpy

from .. import picks, strips
from ..errors import UserError
from ..pure import session


class SEQUENCER_OT_pixelplayer_name(picks.OnPick, picks.Isolating, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_name"
    bl_label = "Name Instrument"
    bl_description = "Say which instrument this is; the instruments and the Rest are isolated again"

    instrument: bpy.props.StringProperty(name="Instrument", options={"SKIP_SAVE"},
                                         description="One of the model's instrument names; empty: from the picture")

    def act(self, context, editor, strip, at_once: bool) -> set[str]:
        movie = strips.movie_of(editor, strip)
        if session.current.separator is None:
            raise UserError(f"Analyze '{movie.name}' first")
        query = dataclasses.replace(strips.query(strip), name=self.instrument or None)
        if query.name is not None:
            from ...core.isolate import prototype

            prototype(session.current.separator.model, query.name)  # a clear error for an unknown name
        everyone = strips.made_for(editor, movie, "pick")
        self._named, self._query = strip.name, query
        queries = [query if p.name == strip.name else strips.query(p) for p in everyone]
        return self.isolate(context, movie, queries, at_once)

    def apply(self, context, editor, movie, sources: list, files: list[str]) -> str:
        everyone = strips.made_for(editor, movie, "pick")
        picks.restem(editor, movie, everyone, files)
        index = [p.name for p in everyone].index(self._named)
        strip = everyone[index]
        strip[strips.KEY]["query"] = strips.stored(self._query)
        strip.name = sources[index].label
        return f"'{strip.name}' isolated again" if self.instrument else f"'{strip.name}' named from the picture"


CLASSES = (SEQUENCER_OT_pixelplayer_name,)
