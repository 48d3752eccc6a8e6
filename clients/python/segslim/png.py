"""Just enough PNG, with the standard library only (zlib + chunk parsing), so masks can come
back from the daemon as arrays without PIL, and numpy images can be sent as PNG.

Decoding covers what masks are: non-interlaced grey (colour type 0) or palette (colour type
3) images at 1, 2, 4 or 8 bits per pixel; the result's values are the sample values (for a
palette mask: the class ids). Anything else raises :class:`PNGError` naming what it found.
Encoding writes 8-bit grey, RGB or RGBA with filter 0 (the daemon's decoder reads any PNG).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["Mask", "PNGError", "decode_png", "encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PNGError(ValueError):
    """A PNG this module cannot decode (corrupt, or a kind masks never are)."""


@dataclass(frozen=True)
class Mask:
    """A decoded single-channel image: ``height`` rows of ``width`` bytes in ``data``.

    What :meth:`segslim.Model.segment` returns when numpy is not installed. ``mask[y, x]``
    reads one pixel, :meth:`rows` / :meth:`tolist` give rows, :meth:`counts` the histogram,
    and :meth:`to_numpy` the HxW uint8 array once numpy is there. ``palette`` is the PNG's
    palette as ``(r, g, b)`` tuples (class colours for a mask), empty for grey images.
    """

    width: int
    height: int
    data: bytes
    palette: Tuple[Tuple[int, int, int], ...] = field(default=(), repr=False)

    @property
    def shape(self) -> Tuple[int, int]:
        """``(height, width)``, as numpy would say."""
        return (self.height, self.width)

    def __getitem__(self, index: Tuple[int, int]) -> int:
        y, x = index
        if not (0 <= y < self.height and 0 <= x < self.width):
            raise IndexError("pixel (%d, %d) outside a %dx%d mask" % (y, x, self.height, self.width))
        return self.data[y * self.width + x]

    def rows(self) -> Iterator[bytes]:
        """Each row as ``bytes`` of length ``width``."""
        for y in range(self.height):
            yield self.data[y * self.width:(y + 1) * self.width]

    def tolist(self) -> List[List[int]]:
        """Rows as lists of ints (what ``numpy.ndarray.tolist`` would give)."""
        return [list(r) for r in self.rows()]

    def counts(self) -> Dict[int, int]:
        """Pixels per value (class id), only values that occur."""
        hist = [0] * 256
        for v in self.data:
            hist[v] += 1
        return {v: n for v, n in enumerate(hist) if n}

    def to_numpy(self) -> Any:
        """The mask as an HxW ``numpy.uint8`` array (needs numpy)."""
        try:
            import numpy as np
        except ImportError as e:
            raise ImportError("Mask.to_numpy needs numpy (pip install numpy)") from e
        return np.frombuffer(self.data, dtype=np.uint8).reshape(self.height, self.width).copy()


def _chunks(png: bytes) -> Iterator[Tuple[bytes, bytes]]:
    if not png.startswith(_SIGNATURE):
        raise PNGError("not a PNG (signature is %r)" % png[:8])
    pos = len(_SIGNATURE)
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        end = pos + 8 + length
        if end + 4 > len(png):
            raise PNGError("chunk %r at byte %d runs past the end of the data" % (kind, pos))
        body = png[pos + 8:end]
        (crc,) = struct.unpack(">I", png[end:end + 4])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise PNGError("chunk %r at byte %d has a bad CRC" % (kind, pos))
        yield kind, body
        if kind == b"IEND":
            return
        pos = end + 4
    raise PNGError("no IEND chunk (truncated PNG)")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> bytearray:
    """Undoes the per-row PNG filters; ``bpp`` is bytes per complete pixel (at least 1)."""
    out = bytearray(stride * height)
    prev = bytearray(stride)
    pos = 0
    for y in range(height):
        ftype = raw[pos]
        row = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:  # Sub
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            row = bytearray((r + p) & 0xFF for r, p in zip(row, prev))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + _paeth(left, prev[i], upleft)) & 0xFF
        elif ftype != 0:
            raise PNGError("row %d has unknown filter type %d" % (y, ftype))
        out[y * stride:(y + 1) * stride] = row
        prev = row
    return out


def decode_png(png: bytes) -> Mask:
    """Decodes a grey or palette PNG (1/2/4/8 bits, not interlaced) into a :class:`Mask`."""
    header: Optional[Tuple[int, int, int, int, int]] = None
    palette: List[Tuple[int, int, int]] = []
    idat: List[bytes] = []
    for kind, body in _chunks(png):
        if kind == b"IHDR":
            if len(body) != 13:
                raise PNGError("IHDR is %d bytes, expected 13" % len(body))
            width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", body)
            header = (width, height, depth, ctype, interlace)
        elif kind == b"PLTE":
            palette = [tuple(body[i:i + 3]) for i in range(0, len(body) - 2, 3)]  # type: ignore[misc]
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise PNGError("no IHDR chunk")
    width, height, depth, ctype, interlace = header
    if ctype not in (0, 3):
        raise PNGError("colour type %d is not grey (0) or palette (3): not a mask" % ctype)
    if depth not in (1, 2, 4, 8):
        raise PNGError("bit depth %d is not supported for a mask (1, 2, 4 or 8)" % depth)
    if interlace != 0:
        raise PNGError("interlaced PNGs are not supported")
    if width == 0 or height == 0:
        raise PNGError("empty image (%dx%d)" % (width, height))
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise PNGError("image data does not inflate: %s" % e) from e
    stride = (width * depth + 7) // 8
    if len(raw) < (stride + 1) * height:
        raise PNGError("image data is %d bytes, %dx%d at %d bits needs %d"
                       % (len(raw), width, height, depth, (stride + 1) * height))
    rows = _unfilter(raw, stride, height, 1)
    if depth == 8:
        data = bytes(rows)
    else:
        per_byte = 8 // depth
        mask = (1 << depth) - 1
        shifts = [8 - depth * (k + 1) for k in range(per_byte)]
        out = bytearray(width * height)
        for y in range(height):
            row = rows[y * stride:(y + 1) * stride]
            x0 = y * width
            for x in range(width):
                out[x0 + x] = (row[x // per_byte] >> shifts[x % per_byte]) & mask
        data = bytes(out)
    return Mask(width, height, data, tuple(palette))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def encode_png(pixels: bytes, width: int, height: int, channels: int) -> bytes:
    """Encodes 8-bit pixels (``height`` rows of ``width * channels`` bytes; channels 1 grey,
    3 RGB, 4 RGBA) as a PNG."""
    ctype = {1: 0, 3: 2, 4: 6}.get(channels)
    if ctype is None:
        raise ValueError("encode_png: %d channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)" % channels)
    stride = width * channels
    if width <= 0 or height <= 0 or len(pixels) != stride * height:
        raise ValueError("encode_png: %d bytes do not make a %dx%dx%d image" % (len(pixels), height, width, channels))
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
