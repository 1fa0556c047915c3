"""dlib's models, loaded lazily and once per process, from the `face_recognition_models` package.

The model files ship inside that package (nothing is downloaded). Its own locator functions import
`pkg_resources`, which recent setuptools no longer has, so the folder is found through the import
system without importing the package.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import dlib  # type: ignore[import-untyped]

from contracts.errors import ErrorCode, PermanentError

T = TypeVar("T")

SHAPE_PREDICTOR_5 = "shape_predictor_5_face_landmarks.dat"
RESNET_V1 = "dlib_face_recognition_resnet_model_v1.dat"

# dlib's Python calls hold the GIL today, but its networks keep per-call work buffers: one call at
# a time per process keeps us correct should a future build release the GIL.
DLIB_LOCK = threading.Lock()


def model_path(name: str) -> Path:
    """The path of one model file of `face_recognition_models`."""
    spec = importlib.util.find_spec("face_recognition_models")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "models" / name
        if path.is_file():
            return path
    raise PermanentError(ErrorCode.EXTRACTOR_UNAVAILABLE,
                         f"model file {name} not found: is face-recognition-models installed?")


class Lazy(Generic[T]):
    """A value built on first use, exactly once even when threads race for it."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._load()
                value = self._value
        return value


def _detector() -> Any:
    return dlib.get_frontal_face_detector()


def _shape_predictor() -> Any:
    return dlib.shape_predictor(str(model_path(SHAPE_PREDICTOR_5)))


def _resnet() -> Any:
    return dlib.face_recognition_model_v1(str(model_path(RESNET_V1)))


detector: Lazy[Any] = Lazy(_detector)
"""HOG frontal face detector (built in code, no model file)."""

shape_predictor: Lazy[Any] = Lazy(_shape_predictor)
"""5-point landmark predictor (eye corners and nose), what `get_face_chip` aligns with."""

resnet: Lazy[Any] = Lazy(_resnet)
"""The ResNet that maps an aligned 150×150 chip to 128 values (about 22 MB)."""


def warm() -> None:
    """Load every model now, so the first photo is not slowed down and a missing file shows early."""
    for model in (detector, shape_predictor, resnet):
        model.get()
