"""The Blender layer: operators, panel, preferences and overlay that translate between Blender and the core.

- :mod:`.operators`: one operator per module, registered by :mod:`.addon` (nothing else imports them);
- the services they share: :mod:`.errors` (reports), :mod:`.timer_job` (background work with progress
  and Esc), :mod:`.picks` (isolating a movie's picks into stem files), :mod:`.strips`,
  :mod:`.stem_files`, :mod:`.geometry`, :mod:`.compat`;
- :mod:`.panel`, :mod:`.prefs` and :mod:`.preview_overlay` (the preview's draw handler);
- :mod:`.pure`: the helpers that never import ``bpy``.
"""
