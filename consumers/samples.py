"""Samples (aligned face crops) and the decoding of untrusted image bytes."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from contracts.errors import ErrorCode, PermanentError

SAMPLE_SIZE = 150
FORMATS = ("JPEG", "PNG")
# Far above any camera, far below what would exhaust memory (an RGB copy is 3 bytes a pixel).
MAX_PIXELS = 50_000_000

Pixels = npt.NDArray[np.uint8]


def bad_image(detail: str) -> PermanentError:
    return PermanentError(ErrorCode.BAD_IMAGE, f"{ErrorCode.BAD_IMAGE.text}: {detail}")


def decode_rgb(data: bytes) -> Pixels:
    """JPEG or PNG bytes as an H×W×3 uint8 array, upright (EXIF orientation applied).

    Only JPEG and PNG are tried, which keeps Pillow's other decoders away from untrusted bytes.
    Anything undecodable, truncated or absurdly large is `BAD_IMAGE` (40007).
    """
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            # Checked from the header, before any pixel is decoded.
            if img.width * img.height > MAX_PIXELS:
                raise bad_image(f"{img.width}x{img.height} is more than {MAX_PIXELS} pixels")
            img.load()
            rgb = ImageOps.exif_transpose(img).convert("RGB")
    except PermanentError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Pillow reports bad input as any of these, depending on the format and where it breaks.
        raise bad_image(str(exc) or type(exc).__name__) from exc
    return np.asarray(rgb, dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class Sample:
    """An aligned 150×150 RGB face crop: what a descriptor is computed from and what the image store
    keeps (as lossless PNG, so every extractor version later sees exactly the same pixels)."""

    pixels: Pixels

    def __post_init__(self) -> None:
        arr = np.asarray(self.pixels)
        if arr.shape != (SAMPLE_SIZE, SAMPLE_SIZE, 3) or arr.dtype != np.uint8:
            raise bad_image(f"a sample is a {SAMPLE_SIZE}x{SAMPLE_SIZE} RGB image, "
                            f"got shape {arr.shape} of {arr.dtype}")
        # dlib wants C-contiguous memory; read-only keeps the frozen promise for the array too.
        copy = np.ascontiguousarray(arr).copy()
        copy.flags.writeable = False
        object.__setattr__(self, "pixels", copy)

    def to_png(self) -> bytes:
        """Lossless and deterministic: the same pixels always give the same bytes."""
        out = io.BytesIO()
        Image.fromarray(self.pixels).save(out, format="PNG")
        return out.getvalue()

    @classmethod
    def from_png(cls, data: bytes) -> Sample:
        """A stored sample, or one a caller gives directly (PNG, or JPEG from a caller).
        Anything that is not a 150×150 image is `BAD_IMAGE` (40007)."""
        return cls(decode_rgb(data))

    def __reduce__(self) -> tuple[type[Sample], tuple[Pixels]]:
        # Unpickled samples (from a worker process) go through the same checks and stay read-only.
        return (Sample, (self.pixels,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sample) and np.array_equal(self.pixels, other.pixels)

    def __hash__(self) -> int:
        return hash(self.pixels.tobytes())
