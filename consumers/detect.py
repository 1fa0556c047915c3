"""Photo to sample: decode, find the largest frontal face, align it into a 150×150 chip."""

from __future__ import annotations

from typing import Any

import dlib  # type: ignore[import-untyped]
import numpy as np
from PIL import Image

from consumers import dlib_models
from consumers.dlib_models import DLIB_LOCK
from consumers.samples import SAMPLE_SIZE, Pixels, Sample, decode_rgb
from contracts.errors import ErrorCode, PermanentError

# Detection cost grows with the pixel count; faces worth enrolling stay well above the smallest
# face found at this size (about 40 px with one upsampling), so big photos are searched shrunk and
# the face is then aligned on the full-resolution pixels.
DETECT_MAX_SIDE = 1024
UPSAMPLE = 1
# What dlib's own `compute_face_descriptor(img, shape)` uses, so our chips match its training.
CHIP_PADDING = 0.25


def sample_from_photo(photo: bytes) -> Sample:
    """The aligned crop of the largest face in a JPEG/PNG photo.

    Raises `PermanentError` with `BAD_IMAGE` (40007) for undecodable bytes and `NO_FACE_FOUND`
    (40006) when the detector finds no face. Deterministic: the same photo gives the same sample.
    """
    rgb = decode_rgb(photo)
    face = largest_face(rgb)
    return align(rgb, face)


def largest_face(rgb: Pixels) -> Any:
    """The `dlib.rectangle` of the largest detected face, in `rgb`'s coordinates.

    Largest, because the detector also reports small false faces in backgrounds; equal sizes go to
    the higher detector score.
    """
    small, scale = _shrunk(rgb)
    with DLIB_LOCK:
        rects, scores, _ = dlib_models.detector.get().run(small, UPSAMPLE, 0.0)
    if len(rects) == 0:
        raise PermanentError(ErrorCode.NO_FACE_FOUND)
    best = max(zip(rects, scores, strict=True), key=lambda rs: (rs[0].area(), rs[1]))[0]
    if scale == 1.0:
        return best
    return dlib.rectangle(round(best.left() / scale), round(best.top() / scale),
                          round(best.right() / scale), round(best.bottom() / scale))


def align(rgb: Pixels, face: Any) -> Sample:
    """Rotate and scale the face so the 5 landmarks land where the descriptor network expects."""
    with DLIB_LOCK:
        shape = dlib_models.shape_predictor.get()(rgb, face)
        chip = dlib.get_face_chip(rgb, shape, size=SAMPLE_SIZE, padding=CHIP_PADDING)
    return Sample(np.asarray(chip, dtype=np.uint8))


def _shrunk(rgb: Pixels) -> tuple[Pixels, float]:
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, dtype=np.uint8), scale
