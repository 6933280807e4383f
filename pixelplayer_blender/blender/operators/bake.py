"""``sequencer.pixelplayer_bake``: the picks and the "Rest" mixed at their levels into one strip.

Levels are the strips' ``volume``: keyframed volume is evaluated at every frame and interpolated per
sample; muted strips are left out (what plays is what is baked).  The mix is written like the stems
(atomically, relative to the .blend) and played by a "Remix" strip aligned with the picks, which are
muted along with the "Rest": one undo step.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import bpy

from .. import compat, stem_files, strips
from ..errors import UserError, reports
from ..pure import bake_mix, deps


def gain_of(scene, strip, samples: int, sample_rate: int):
    """``strip``'s gain: its volume, or one value per sample where the volume is keyframed."""
    curve = compat.fcurve(scene, strip.path_from_id("volume"))
    if curve is None:
        return strip.volume
    fps = scene.render.fps / scene.render.fps_base
    frames = bake_mix.sample_frames(samples, sample_rate, fps, strip.frame_start, getattr(strip, "sound_offset", 0.0))
    return bake_mix.gains(frames, curve.evaluate)


def bake(context):
    """Write the mix of the active movie's unmuted picks and Rest and play it from the "Remix" strip."""
    from ...core import media

    scene, movie = strips.active_movie(context)
    path = strips.media_path(movie)
    editor = scene.sequence_editor
    picks = strips.made_for(editor, movie, "pick")
    if not picks:
        raise UserError(f"Pick an instrument in '{movie.name}' first")
    parts = [s for s in picks + strips.made_for(editor, movie, "rest") if not s.mute]
    if not parts:
        raise UserError("Nothing to bake: every instrument and the Rest are muted")
    files = [bpy.path.abspath(s.sound.filepath, library=s.sound.library) for s in parts]
    sample_rate = media.probe(files[0]).audio.sample_rate
    audio = [media.decode_audio(f) for f in files]
    mixed = bake_mix.mix([(a, gain_of(scene, s, a.shape[1], sample_rate)) for s, a in zip(parts, audio)])
    name = f"{Path(path).stem}.remix.{hashlib.sha1(mixed.tobytes()).hexdigest()[:10]}.wav"
    file = stem_files.write(stem_files.folder(context), name, mixed, sample_rate, path)

    baked = strips.made_for(editor, movie, "bake")
    if baked:
        strips.set_sound(baked[0], file)
        baked[0].mute = False
    else:
        baked = [strips.add_sound(editor, movie, "Remix", file, "bake")]
    for strip in parts:
        strip.mute = True
    return baked[0]


class SEQUENCER_OT_pixelplayer_bake(bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_bake"
    bl_label = "Bake Remix"
    bl_description = ("Mix the isolated instruments and the Rest at their levels (keyframes included) into one "
                      "sound strip, and mute them")
    bl_options = {"REGISTER", "UNDO"}

    @reports("Bake")
    def execute(self, context) -> set[str]:
        deps.require()
        baked = bake(context)
        self.report({"INFO"}, f"Baked the remix into '{baked.name}' on channel {baked.channel}")
        return {"FINISHED"}


CLASSES = (SEQUENCER_OT_pixelplayer_bake,)
