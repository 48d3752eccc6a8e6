"""A dataset split's samples and label maps, read as the daemon reads them (``Sources/SegData``).

``model/evaluate`` takes a dataset and a split, not a list of images, and answers scores, not a
confusion matrix; so a shard is scored here from ``model/segment``'s masks and the labels
decoded below. The listing and decoding repeat the daemon's rules (file order, which files
pair up, palette indices, 16-bit grey, Cityscapes labelIds to trainIds); the worker checks
the count against ``dataset/open`` so a listing that drifted from the daemon's fails loudly.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Dict, List, Optional, Tuple

from ..png import PNGError, _chunks, _unfilter, decode_png

Sample = Tuple[str, Optional[str]]

_IMAGE_EXTENSIONS = {"jpg", "jpeg", "png"}
_IMAGE_FOLDERS = ["images", "imgs", "image", "JPEGImages"]
_MASK_FOLDERS = ["masks", "labels", "annotations", "mask", "label", "gt"]

#: Cityscapes labelId -> trainId (255: ignored), as ``CityscapesFormat.labelToTrain``.
CITYSCAPES_TRAIN_IDS = bytes(
    {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
     27: 14, 28: 15, 31: 16, 32: 17, 33: 18}.get(i, 255) for i in range(256))


def _standard(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def _images_in(folder: str) -> List[Tuple[str, str]]:
    """(stem, path) of the images in a folder, sorted by file name."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [(os.path.splitext(n)[0], os.path.join(folder, n)) for n in names
            if not n.startswith(".") and os.path.splitext(n)[1][1:].lower() in _IMAGE_EXTENSIONS]


def detect_format(root: str) -> Optional[str]:
    """``Dataset.detect``: the format the daemon would pick for this folder."""
    def exists(p: str) -> bool:
        return os.path.exists(os.path.join(root, p))
    if exists("leftImg8bit") and exists("gtFine"):
        return "cityscapes"
    if exists("JPEGImages") and exists("ImageSets/Segmentation"):
        return "voc"
    entries = os.listdir(root)
    if any(e.endswith(".txt") and not e.startswith(".") for e in entries):
        return "paddleseg"
    if exists("train") and exists("trainannot"):
        return "camvid"
    if any(exists(f) for f in _IMAGE_FOLDERS) or any(os.path.splitext(e)[1][1:].lower() in _IMAGE_EXTENSIONS for e in entries):
        return "folder"
    return None


def _resolve(path: str, root: str) -> str:
    return path if path.startswith("/") else _standard(os.path.join(root, path))


def _paddleseg(root: str, split: str) -> List[Sample]:
    path = os.path.join(root, split + ".txt")
    if not os.path.isfile(path):
        return []
    out: List[Sample] = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            fields = line.replace("\t", " ").split()
            if not fields or len(fields) > 2:
                continue  # the daemon reports more than two fields as a malformed line and skips it
            out.append((_resolve(fields[0], root), _resolve(fields[1], root) if len(fields) == 2 else None))
    return out


def _folder(root: str, split: str) -> List[Sample]:
    image_dir = next((os.path.join(root, f) for f in _IMAGE_FOLDERS if os.path.exists(os.path.join(root, f))), root)
    mask_dir = next((os.path.join(root, f) for f in _MASK_FOLDERS if os.path.exists(os.path.join(root, f))), None)
    subfolders = sorted(n for n in os.listdir(image_dir) if not n.startswith(".") and os.path.isdir(os.path.join(image_dir, n)))
    if subfolders:
        if split not in subfolders:
            return []
        image_dir = os.path.join(image_dir, split)
        mask_dir = os.path.join(mask_dir, split) if mask_dir else None
    elif split != "all":
        return []
    masks: Dict[str, str] = {}
    for stem, p in _images_in(mask_dir) if mask_dir else []:
        masks.setdefault(stem, p)
    return [(p, masks.get(stem) if mask_dir else None) for stem, p in _images_in(image_dir)]


def _camvid(root: str, split: str) -> List[Sample]:
    if split not in ("train", "val", "test") or not os.path.exists(os.path.join(root, split)):
        return []
    labels: Dict[str, str] = {}
    for stem, p in _images_in(os.path.join(root, split + "annot")):
        labels.setdefault(stem, p)
    return [(p, labels.get(stem)) for stem, p in _images_in(os.path.join(root, split))]


def _voc(root: str, split: str) -> List[Sample]:
    path = os.path.join(root, "ImageSets", "Segmentation", split + ".txt")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        stems = [s.strip() for s in f.read().splitlines() if s.strip()]
    return [("/".join([root, "JPEGImages", s + ".jpg"]), "/".join([root, "SegmentationClass", s + ".png"])) for s in stems]


def _cityscapes(root: str, split: str) -> List[Sample]:
    split_dir = os.path.join(root, "leftImg8bit", split)
    out: List[Sample] = []
    for city in sorted(os.listdir(split_dir)) if os.path.isdir(split_dir) else []:
        if city.startswith("."):
            continue
        city_dir = os.path.join(split_dir, city)
        for name in sorted(os.listdir(city_dir)) if os.path.isdir(city_dir) else []:
            if name.endswith("_leftImg8bit.png"):
                stem = name[:-len("_leftImg8bit.png")]
                label = "/".join([root, "gtFine", split, city, stem + "_gtFine_labelIds.png"])
                out.append((os.path.join(city_dir, name), label if os.path.exists(label) else None))
    return out


def labelled_samples(root: str, split: str, fmt: Optional[str] = None) -> Tuple[str, List[Tuple[str, str]]]:
    """``(format, [(image, label)])``: the split's labelled samples in the daemon's order."""
    root = _standard(root)
    fmt = fmt or detect_format(root)
    readers = {"paddleseg": _paddleseg, "folder": _folder, "camvid": _camvid, "voc": _voc, "cityscapes": _cityscapes}
    if fmt not in readers:
        raise ValueError("%s: not a dataset layout the Ray integration can list (format %r)" % (root, fmt))
    return fmt, [(i, l) for i, l in readers[fmt](root, split) if l is not None]


def _gray16(png: bytes, path: str) -> Tuple[int, int, bytes]:
    width = height = 0
    idat: List[bytes] = []
    for kind, body in _chunks(png):
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
            if body[12] != 0:
                raise PNGError("%s: interlaced 16-bit labels are not supported here" % path)
        elif kind == b"IDAT":
            idat.append(body)
    rows = _unfilter(zlib.decompress(b"".join(idat)), width * 2, height, 2)
    wide = struct.unpack(">%dH" % (width * height), bytes(rows))
    big = next((v for v in wide if v > 255), None)
    if big is not None:
        raise PNGError("%s: 16-bit label value %d does not fit in 8 bits" % (path, big))
    return width, height, bytes(wide)


def read_label(path: str, mapping: Optional[bytes] = None) -> Tuple[int, int, bytes]:
    """``ImageIO.loadLabel`` (+ the dataset's label mapping): ``(width, height, class ids)``.

    Palette PNGs give their indices, 8-bit grey its values, 16-bit grey its values (which must
    fit in 8 bits), 1-bit grey 0/1 and 2/4-bit grey scaled to 0...255; colour PNGs and other
    files are refused, as the daemon refuses them.
    """
    with open(path, "rb") as f:
        png = f.read()
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 29:
        raise PNGError("%s: label maps must be PNG (JPEG would blur class ids)" % path)
    depth, ctype = png[24], png[25]
    if ctype == 0 and depth == 16:
        width, height, data = _gray16(png, path)
    elif ctype in (0, 3):
        mask = decode_png(png)
        width, height, data = mask.width, mask.height, mask.data
        if ctype == 0 and depth in (2, 4):
            scale = 255 // ((1 << depth) - 1)
            data = bytes(v * scale for v in data)
    else:
        raise PNGError("%s: a label map needs one channel; this PNG is colour type %d" % (path, ctype))
    return width, height, data.translate(mapping) if mapping is not None else data


def label_mapping(fmt: str) -> Optional[bytes]:
    return CITYSCAPES_TRAIN_IDS if fmt == "cityscapes" else None

