"""The built zip installs as an extension, bundles its wheels and registers even without its dependencies."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import bpy
from blend import PACKAGE


def test_install_enables_the_extension_and_its_wheels(extension):
    assert hasattr(bpy.ops.sequencer, "pixelplayer_analyze") and hasattr(bpy.ops.sequencer, "pixelplayer_pick")
    assert hasattr(bpy.types, "SEQUENCER_PT_pixelplayer")
    site = Path(os.environ["BLENDER_USER_RESOURCES"], "extensions", ".local", "lib",
                f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages")
    assert {"av", "soundfile.py", "cffi", "pycparser"} <= {p.name for p in site.iterdir()}


def test_disable_and_enable_again(extension):
    assert bpy.ops.preferences.addon_disable(module=PACKAGE) == {"FINISHED"}
    assert not hasattr(bpy.types, "SEQUENCER_OT_pixelplayer_pick")
    assert bpy.ops.preferences.addon_enable(module=PACKAGE) == {"FINISHED"}
    assert hasattr(bpy.types, "SEQUENCER_OT_pixelplayer_pick")


WITHOUT_DEPENDENCIES = """
import json, sys
for name in ("torch", "av", "soundfile"):
    sys.modules[name] = None  # as if not installed: any import raises ImportError
import bpy
result = {"install": sorted(bpy.ops.extensions.package_install_files(
    filepath=sys.argv[1], repo="user_default", enable_on_install=True))}
deps = sys.modules["bl_ext.user_default.pixelplayer.blender.pure.deps"]
result["missing"] = deps.missing()
result["registered"] = hasattr(bpy.types, "SEQUENCER_OT_pixelplayer_analyze")
scene = bpy.context.scene
editor = scene.sequence_editor_create()
top = editor.strips if hasattr(editor, "strips") else editor.sequences
editor.active_strip = top.new_movie("duet", sys.argv[2], 1, 1)
try:
    bpy.ops.sequencer.pixelplayer_analyze()
except RuntimeError as error:
    result["analyze"] = str(error)
print("RESULT " + json.dumps(result))
"""


def test_registers_and_explains_when_torch_av_and_soundfile_are_missing(clip, tmp_path):
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "blender")}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(WITHOUT_DEPENDENCIES), os.environ["PIXELPLAYER_ZIP"],
                          str(clip.path)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=300)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, out.stdout + out.stderr
    result = json.loads(line[len("RESULT "):])
    assert result["install"] == ["FINISHED"] and result["registered"]
    assert result["missing"] == ["torch", "av", "soundfile"]
    assert "Install PyTorch" in result["analyze"] and "PyAV is missing" in result["analyze"]
