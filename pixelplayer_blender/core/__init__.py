"""The pure separation core: media I/O, networks, analysis, isolation, remix and CLI.

Nothing under this package imports ``bpy``: it runs, and is tested, without Blender.
"""
