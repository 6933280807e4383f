"""The Blender layer: operators, panel, preferences and overlay that translate between Blender and the core.

Only modules imported from :mod:`.addon` touch ``bpy``; :mod:`.viewmap`, :mod:`.overlay`, :mod:`.remix`,
:mod:`.installer`, :mod:`.jobs` and :mod:`.deps` stay pure.
"""
