"""The built-in offline renderer.

`simple` is the entry point: `describe` turns the request into a `Scene`, `draw*` paint it (or
`photo_render` re-draws a reference photo into it), `finish` applies lighting and style; `imaging` encodes
and thumbnails any backend's output. Importing this package does not import Pillow, so backends and the
registry can name the renderer version without paying for it.
"""

RENDERER_VERSION = "studio-3"
