"""The Blender layer: operators, panel, preferences and overlay that translate between Blender and the core.

Only modules imported from :mod:`.addon` touch ``bpy``; :mod:`.viewmap` and :mod:`.deps` stay pure.
"""
