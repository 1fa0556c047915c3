"""Face descriptors as stored: 128 float32 values packed little-endian (512 bytes), compared by
Euclidean distance (dlib's same-person threshold is about 0.6)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DESCRIPTOR_LENGTH = 128
PACKED_SIZE = DESCRIPTOR_LENGTH * 4
SAME_PERSON_DISTANCE = 0.6

# An explicit byte order, so stored descriptors read back the same on any machine.
_WIRE = np.dtype("<f4")

Descriptor = npt.NDArray[np.float32]


def as_descriptor(values: npt.ArrayLike) -> Descriptor:
    """A validated float32 copy: exactly 128 finite values."""
    arr = np.array(values, dtype=np.float32).reshape(-1)
    if arr.shape != (DESCRIPTOR_LENGTH,):
        raise ValueError(f"a descriptor has {DESCRIPTOR_LENGTH} values, got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError("a descriptor must not contain NaN or infinity")
    return arr


def pack(descriptor: npt.ArrayLike) -> bytes:
    """The 512 stored bytes of a descriptor."""
    return as_descriptor(descriptor).astype(_WIRE).tobytes()


def unpack(data: bytes) -> Descriptor:
    """The descriptor stored as `data` (a fresh, writable native float32 array)."""
    if len(data) != PACKED_SIZE:
        raise ValueError(f"a packed descriptor is {PACKED_SIZE} bytes, got {len(data)}")
    return as_descriptor(np.frombuffer(data, dtype=_WIRE))


def distance(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Euclidean distance between two descriptors."""
    return float(np.linalg.norm(as_descriptor(a) - as_descriptor(b)))
