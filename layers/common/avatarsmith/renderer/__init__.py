"""The built-in offline renderer.

`simple` draws a stylised avatar (or crops a reference photo) with Pillow; `imaging` encodes and
thumbnails any backend's output. Importing this package does not import Pillow, so backends and the
registry can name the renderer version without paying for it.
"""

RENDERER_VERSION = "studio-2"
