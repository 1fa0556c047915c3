"""Descriptor extractors by version name, and the registry re-extraction picks its target from.

Both versions run dlib's ResNet on the stored 150×150 sample, so re-extraction needs only the
image store, never the original photo:

- `dlib-resnet-v1`: one pass over the sample (dlib's `num_jitters=0`).
- `dlib-resnet-flip-v2`: the mean of the descriptors of the sample and of its mirror image, two
  passes in one batch. dlib's own jittering (`num_jitters>0`) was measured and not chosen: its
  random crops come from a generator inside the loaded model, so the same sample gets a different
  descriptor on every call (0.08 apart with 3 jitters), and a redelivered re-extraction would not
  reproduce what the first delivery stored. Mirroring is deterministic and made the same face
  flipped, darkened or shrunk land closer to the original than v1 does.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from consumers import dlib_models
from consumers.descriptors import Descriptor, as_descriptor
from consumers.dlib_models import DLIB_LOCK
from consumers.samples import Sample
from contracts.errors import ErrorCode, PermanentError

CURRENT_VERSION = "dlib-resnet-v1"


class Extractor(Protocol):
    """Turns a sample into a descriptor; `version` names the exact recipe, so descriptors of
    different versions are never compared with each other."""

    version: str

    def descriptor(self, sample: Sample) -> Descriptor: ...


class DlibResnetExtractor:
    """dlib's ResNet face descriptor; with `mirrored`, averaged with that of the mirror image."""

    def __init__(self, version: str, *, mirrored: bool = False) -> None:
        self.version = version
        self.mirrored = mirrored

    def descriptor(self, sample: Sample) -> Descriptor:
        """128 float32 values; slow (about 0.1 s a pass on one core), so call it off the loop."""
        chips = [sample.pixels]
        if self.mirrored:
            chips.append(np.ascontiguousarray(sample.pixels[:, ::-1]))
        with DLIB_LOCK:
            vectors = dlib_models.resnet.get().compute_face_descriptor(chips, 0)
        return as_descriptor(np.mean([np.asarray(v) for v in vectors], axis=0))


EXTRACTORS: dict[str, Extractor] = {
    e.version: e for e in (
        DlibResnetExtractor(CURRENT_VERSION),
        DlibResnetExtractor("dlib-resnet-flip-v2", mirrored=True),
    )
}


def get_extractor(version: str) -> Extractor:
    """The extractor of `version`; unknown versions are `EXTRACTOR_UNAVAILABLE` (16011)."""
    try:
        return EXTRACTORS[version]
    except KeyError:
        known = ", ".join(sorted(EXTRACTORS))
        raise PermanentError(ErrorCode.EXTRACTOR_UNAVAILABLE,
                             f"no extractor {version!r}; known: {known}") from None
