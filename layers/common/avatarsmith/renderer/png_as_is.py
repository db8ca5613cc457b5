"""A backend's PNG kept as it is when it already is what the job asked for.

Re-encoding a vendor's 1024x1024 PNG costs ~0.2-0.5 s of CPU on the job's critical path (zlib at its
fastest level) for no gain in pixels. When the vendor's PNG is already 8-bit RGB, not interlaced, at the
exact size asked for, its image data is kept byte for byte and only its ancillary chunks (text, EXIF,
ICC, gamma, time...) are dropped, which is what the re-encode path does to them too.

"Decodable" is checked, not assumed: every chunk's CRC, the chunk order, and the whole zlib stream
inflated (bounded by the exact size 8-bit RGB at width x height inflates to) with a valid filter type
on every row: a PNG decoder can fail on nothing else. Anything else (other modes, interlacing, unknown
critical chunks, a damaged file) answers None, and the caller takes the full decode + re-encode path,
which fits, flattens or refuses the image as before.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGB, _BIT_DEPTH_8 = 2, 8
_MAX_FILTER_TYPE = 4  # None, Sub, Up, Average, Paeth (PNG spec, 9.2)
_KEPT = (b"IHDR", b"IDAT", b"IEND")


def png_as_is(data: bytes, width: int, height: int) -> bytes | None:
    """`data` without its ancillary chunks if it is a sound 8-bit RGB, non-interlaced PNG of exactly
    width x height; None when it is anything else (the caller re-encodes it)."""
    if not data.startswith(SIGNATURE):
        return None
    view = memoryview(data)
    kept: list[memoryview] = [view[: len(SIGNATURE)]]
    idat: list[memoryview] = []
    position, order = len(SIGNATURE), b""
    while True:
        if position + 12 > len(data):
            return None  # truncated: no IEND
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            return None
        body = view[position + 8 : end - 4]
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(body, zlib.crc32(kind)) != crc:
            return None
        if kind in _KEPT:
            kept.append(view[position:end])
            order += kind[:2]  # IH, ID, IE: checked as a sequence below
            if kind == b"IDAT":
                idat.append(body)
        elif kind[0:1].isupper() and kind != b"PLTE":  # a critical chunk we do not know: not ours to judge
            return None
        position = end
        if kind == b"IEND":
            break
    if not _ordered(order) or not _header_is(bytes(kept[1][8:21]), width, height):
        return None
    if not _inflates_to_rows(idat, width, height):
        return None
    return b"".join(kept)


def _ordered(order: bytes) -> bool:
    """IHDR first, one run of IDAT, IEND last (PNG spec, 5.6)."""
    if not (order.startswith(b"IH") and order.endswith(b"IE")):
        return False
    middle = order[2:-2]
    return len(middle) >= 2 and middle == b"ID" * (len(middle) // 2)


def _header_is(header: bytes, width: int, height: int) -> bool:
    if len(header) != 13:
        return False
    w, h, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    return (w, h, depth, colour, compression, filtering, interlace) == (
        width,
        height,
        _BIT_DEPTH_8,
        _RGB,
        0,
        0,
        0,
    )


def _inflates_to_rows(idat: list[memoryview], width: int, height: int) -> bool:
    """The zlib stream inflates to exactly `height` rows of 1 filter byte + 3 x width bytes, each row's
    filter type valid, with nothing after the stream's end."""
    stride = 1 + 3 * width
    expected = stride * height
    inflater = zlib.decompressobj()
    raw = bytearray()
    try:
        for chunk in idat:
            raw += inflater.decompress(chunk, expected + 1 - len(raw))
            if len(raw) > expected or inflater.unconsumed_tail:
                return False
        raw += inflater.flush()
    except zlib.error:
        return False
    if not inflater.eof or inflater.unused_data or len(raw) != expected:
        return False
    return max(raw[::stride]) <= _MAX_FILTER_TYPE
