"""Make the README's pictures of the Blender extension, headless, from a real scene.

Run with a bpy venv (scripts/setup_blender_envs.sh):

    .venv-bpy50/bin/python scripts/make_readme_images.py

It installs the extension zip (built with scripts/build_extension.py) into a throwaway Blender user
folder, adds a held-out duet (written by scripts/make_eval_scenes.py with the main .venv: two
sampled instruments drawn as emoji) as a movie strip, analyses it, picks both instruments at
their boxes' centres through the operators and writes

- docs/preview-soundmap.png: the sequencer's render of the current frame with the overlay composited
  from the same data the preview's draw handler shows (:func:`preview.current`, placed with
  :mod:`viewmap`);
- docs/timeline.png: the scene's strips after the two picks, drawn from their real names, channels,
  starts, lengths and mute states.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bl_ext.user_default.pixelplayer"
# Strip colours when the strip has no colour tag (Blender's default theme, roughly).
TYPE_COLOURS = {"MOVIE": (81, 105, 135), "SOUND": (46, 141, 135)}


def build_zip() -> Path:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_extension.py"), "--platform", "linux-x64"],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def held_out_duet(folder: Path) -> dict:
    """Write the first held-out duet with the main venv (it has FluidSynth) and return its sidecar."""
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "scripts" / "make_eval_scenes.py"),
                    str(folder), "--duets", "1", "--trios", "0"], check=True, capture_output=True)
    sidecar = json.loads((folder / "duet_0000.json").read_text())
    sidecar["video"] = str(folder / sidecar["video"])
    return sidecar


def scene_with_two_picks(duet: dict, zip_path: Path, checkpoint: Path | None):
    """The extension installed and a scene whose duet is analysed and has both instruments picked."""
    import bpy

    assert bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                    enable_on_install=True) == {"FINISHED"}
    if checkpoint:
        bpy.context.preferences.addons[PACKAGE].preferences.checkpoint = str(checkpoint.resolve())
    fps = duet["fps"]
    scene = bpy.data.scenes.new("README")
    window = bpy.context.window_manager.windows[0]
    window.scene = scene
    if hasattr(window.workspace, "sequencer_scene"):
        window.workspace.sequencer_scene = scene
    editor = scene.sequence_editor_create()
    scene.render.fps, scene.render.fps_base = fps, 1.0
    scene.render.resolution_x, scene.render.resolution_y = duet["width"], duet["height"]
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    top = editor.strips if hasattr(editor, "strips") else editor.sequences
    movie = top.new_movie("duet.mp4", duet["video"], 2, 1)
    top.new_sound("duet.mp4 sound", duet["video"], 1, 1)
    editor.active_strip = movie
    scene.frame_start, scene.frame_end = 1, int(movie.frame_final_end) - 1
    scene.frame_current = 1 + duet["frames"] // 2
    assert bpy.ops.sequencer.pixelplayer_analyze() == {"FINISHED"}
    index = scene.frame_current - int(movie.frame_start)
    for source in duet["sources"]:
        x0, y0, x1, y1 = source["boxes"][index]
        assert bpy.ops.sequencer.pixelplayer_pick(x=(x0 + x1) / 2, y=(y0 + y1) / 2) == {"FINISHED"}
    return scene, movie


def rendered_frame(scene, folder: Path) -> np.ndarray:
    """The sequencer's render of the current frame, RGB uint8, row 0 at the top."""
    import bpy

    scene.render.filepath = str(folder / "frame.png")
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(scene.render.filepath).convert("RGB"))


def composite(frame: np.ndarray, scene, extension) -> Image.Image:
    """``frame`` with the preview overlay on top, placed exactly as the draw handler places it."""
    blender = extension.blender
    movie, analysis, _, layer = blender.preview_overlay.current(scene)
    video = analysis.info.video
    view_frame = blender.geometry.frame(scene)
    placement = blender.geometry.placement(movie, video.width, video.height)
    # The texture stretched over the image with linear filtering, as the GPU samples it.
    texture = Image.fromarray((layer.rgba * 255).round().astype(np.uint8), "RGBA")
    overlay = np.asarray(texture.resize((video.width, video.height), Image.BILINEAR), np.float32) / 255
    out = frame.astype(np.float32) / 255
    height = frame.shape[0]
    for row in range(height):
        for column in range(frame.shape[1]):
            view = blender.pure.viewmap.frame_to_view(column + 0.5, height - row - 0.5, view_frame)
            source = blender.pure.viewmap.view_to_source(*view, view_frame, placement)
            if source is not None:
                rgba = overlay[int(source[1]), int(source[0])]
                out[row, column] = out[row, column] * (1 - rgba[3]) + rgba[:3] * rgba[3]
    image = Image.fromarray((out * 255).round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    radius = blender.preview_overlay.MARKER_RADIUS * view_frame.height
    for marker in layer.markers:
        fx, fy = blender.pure.viewmap.view_to_frame(*blender.pure.viewmap.source_to_view(marker.x, marker.y, view_frame,
                                                                               placement), view_frame)
        x, y = fx, height - fy
        colour = tuple(round(c * 255) for c in marker.colour)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(0, 0, 0))
        draw.ellipse((x - 0.7 * radius, y - 0.7 * radius, x + 0.7 * radius, y + 0.7 * radius), fill=colour)
        draw.text((x + radius + 4, y - 6), marker.label, fill=(255, 255, 255), font=font, stroke_width=2,
                  stroke_fill=(0, 0, 0))
    return image


def strip_colour(strip) -> tuple[int, int, int]:
    import bpy

    if strip.color_tag.startswith("COLOR_"):
        theme = bpy.context.preferences.themes[0].strip_color[int(strip.color_tag[-2:]) - 1]
        return tuple(round(c * 255) for c in theme.color)
    return TYPE_COLOURS.get(strip.type, (120, 120, 120))


def timeline(scene) -> Image.Image:
    """A strip diagram of ``scene``'s sequencer: one lane per channel, strips at their frames."""
    editor = scene.sequence_editor
    strips = list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)
    first = min(s.frame_final_start for s in strips)
    last = max(s.frame_final_end for s in strips)
    channels = max(s.channel for s in strips)
    left, right, top, lane = 90, 20, 40, 38
    width = 1000
    height = top + channels * lane + 20
    scale = (width - left - right) / (last - first)
    x_of = lambda frame: left + (frame - first) * scale
    y_of = lambda channel: top + (channels - channel) * lane
    image = Image.new("RGB", (width, height), (40, 40, 40))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    for channel in range(1, channels + 1):
        y = y_of(channel)
        draw.rectangle((left, y, width - right, y + lane - 1), fill=(48, 48, 48) if channel % 2 else (44, 44, 44))
        draw.text((10, y + lane / 2 - 6), f"Channel {channel}", fill=(170, 170, 170), font=font)
    for frame in range(int(first), int(last) + 1, 25):
        draw.line((x_of(frame), top - 8, x_of(frame), height - 20), fill=(70, 70, 70))
        if x_of(frame) + 40 < width:
            draw.text((x_of(frame) + 3, top - 22), f"{frame}", fill=(170, 170, 170), font=font)
    for strip in strips:
        y, colour = y_of(strip.channel), strip_colour(strip)
        box = (x_of(strip.frame_final_start), y + 3, x_of(strip.frame_final_end) - 1, y + lane - 4)
        if strip.mute:
            colour = tuple(c // 3 + 40 for c in colour)
        draw.rectangle(box, fill=colour, outline=(230, 230, 230) if strip == editor.active_strip else (20, 20, 20))
        volume = f"  level {strip.volume:.2f}" if strip.type == "SOUND" else ""
        label = f"{strip.name}{volume}{'  (muted)' if strip.mute else ''}  [{strip.frame_final_duration} frames]"
        draw.text((box[0] + 6, y + lane / 2 - 6), label, fill=(255, 255, 255) if not strip.mute else (190, 190, 190),
                  font=font)
    playhead = x_of(scene.frame_current)
    draw.line((playhead, top - 8, playhead, height - 20), fill=(80, 140, 255), width=2)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--zip", type=Path, help="the extension zip; default: build it")
    parser.add_argument("--checkpoint", type=Path, help="model checkpoint; default: the one the extension bundles")
    args = parser.parse_args()
    zip_path = args.zip or build_zip()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["BLENDER_USER_RESOURCES"] = str(folder / "blender")  # never the user's own Blender setup
        scene, _ = scene_with_two_picks(held_out_duet(folder / "duet"), zip_path, args.checkpoint)
        extension = importlib.import_module(PACKAGE)
        args.out.mkdir(parents=True, exist_ok=True)
        composite(rendered_frame(scene, folder), scene, extension).save(args.out / "preview-soundmap.png")
        timeline(scene).save(args.out / "timeline.png")
    print(args.out / "preview-soundmap.png")
    print(args.out / "timeline.png")


if __name__ == "__main__":
    main()
