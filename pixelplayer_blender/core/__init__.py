"""The pure separation core: media I/O, networks, analysis, queries, isolation and remix.

Nothing under this package imports ``bpy``: it runs, and is tested, without Blender.
"""
