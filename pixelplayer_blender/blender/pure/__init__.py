"""The Blender layer's pure helpers: nothing here imports ``bpy``.

They hold the layer's arithmetic and its work off the main thread, testable without Blender:
:mod:`.viewmap` (preview <-> source pixels and times), :mod:`.overlay_layer` (the sound-map image and
markers the preview draws), :mod:`.bake_mix` (per-sample levels of a baked remix), :mod:`.jobs`
(work in a worker thread), :mod:`.session` (the loaded separator and analyses), :mod:`.deps` and
:mod:`.installer` (finding and installing PyTorch).
"""
