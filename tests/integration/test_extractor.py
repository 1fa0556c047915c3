"""The real face pipeline (dlib detector, 5-point aligner, ResNet) on real photos shipped in packages.

No servers. Distances are printed: run with `pytest -s` to see them. The six-person photo comes from
the `insightface` 2.1 wheel, installed (without its dependencies, for its data only) by
deploy/local/setup.sh.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import struct
import threading
import zlib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from skimage import data as skdata

from consumers import detect, dlib_models
from consumers.descriptors import SAME_PERSON_DISTANCE, distance
from consumers.dlib_models import Lazy
from consumers.extractor import CURRENT_VERSION, EXTRACTORS, get_extractor
from consumers.face_worker import FaceWorker
from consumers.samples import Sample, decode_rgb
from contracts.errors import ErrorCode, PermanentError, TransientError

V1, V2 = CURRENT_VERSION, "dlib-resnet-flip-v2"


def encode(img: Image.Image | np.ndarray, fmt: str = "PNG", **params: object) -> bytes:
    pic = img if isinstance(img, Image.Image) else Image.fromarray(img)
    out = io.BytesIO()
    pic.save(out, format=fmt, **params)
    return out.getvalue()


def astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut())


def six_people() -> bytes:
    try:
        path = distribution("insightface").locate_file("insightface/data/images/t1.jpg")
    except PackageNotFoundError:
        pytest.fail("insightface 2.1 (test photos) is missing: run `bash deploy/local/setup.sh`")
    return Path(str(path)).read_bytes()


def code_of(photo: bytes) -> int:
    with pytest.raises(PermanentError) as info:
        detect.sample_from_photo(photo)
    return int(info.value.code)


@pytest.fixture(scope="module")
def original() -> Sample:
    return detect.sample_from_photo(encode(astronaut()))


def test_the_largest_of_several_detections_is_the_face() -> None:
    rgb = skdata.astronaut()
    rects, scores, _ = dlib_models.detector.get().run(rgb, detect.UPSAMPLE, 0.0)
    found = [(str(r), round(s, 3)) for r, s in zip(rects, scores, strict=True)]
    print(f"\nastronaut detections: {found}")
    assert len(rects) >= 2, "the detector no longer reports the false face: this test lost its point"
    face = detect.largest_face(rgb)
    assert face.area() == max(r.area() for r in rects)
    assert face.top() < 150 < face.bottom() and face.left() < 220 < face.right()  # her face


@pytest.mark.parametrize("version", [V1, V2])
def test_same_face_changed_stays_close(version: str, original: Sample) -> None:
    pic = astronaut()
    variants = {
        "flipped": encode(pic.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        "darkened": encode(ImageEnhance.Brightness(pic).enhance(0.5)),
        "scaled 60%": encode(pic.resize((307, 307), Image.Resampling.LANCZOS)),
        "JPEG q75": encode(pic, "JPEG", quality=75),
        "2048 px (detected shrunk)": encode(pic.resize((2048, 2048), Image.Resampling.LANCZOS)),
        "EXIF rotated": _exif_rotated(pic),
    }
    extractor = get_extractor(version)
    base = extractor.descriptor(original)
    for name, photo in variants.items():
        d = distance(base, extractor.descriptor(detect.sample_from_photo(photo)))
        print(f"\n{version}: astronaut vs {name}: {d:.3f}")
        assert d < SAME_PERSON_DISTANCE, name


def _exif_rotated(pic: Image.Image) -> bytes:
    """Stored upside down with EXIF orientation 3, as cameras do; the decoder must turn it upright."""
    exif = Image.Exif()
    exif[0x0112] = 3
    return encode(pic.rotate(180), "JPEG", quality=95, exif=exif)


@pytest.mark.parametrize("version", [V1, V2])
def test_different_people_are_far_apart(version: str, original: Sample) -> None:
    rgb = decode_rgb(six_people())
    rects = dlib_models.detector.get().run(rgb, detect.UPSAMPLE, 0.0)[0]
    assert len(rects) == 6
    extractor = get_extractor(version)
    descriptors = [extractor.descriptor(detect.align(rgb, r)) for r in rects]
    descriptors.append(extractor.descriptor(original))
    pairs = [distance(a, b) for a, b in itertools.combinations(descriptors, 2)]
    print(f"\n{version}: 7 different people, {len(pairs)} pairs: "
          f"min {min(pairs):.3f}, max {max(pairs):.3f}")
    assert min(pairs) > SAME_PERSON_DISTANCE


def test_second_version_differs_but_stays_close(original: Sample) -> None:
    v1, v2 = EXTRACTORS[V1].descriptor(original), EXTRACTORS[V2].descriptor(original)
    d = distance(v1, v2)
    print(f"\nastronaut {V1} vs {V2}: {d:.3f}")
    assert 0.0 < d < SAME_PERSON_DISTANCE


@pytest.mark.parametrize("version", [V1, V2])
def test_descriptors_are_deterministic(version: str, original: Sample) -> None:
    extractor = get_extractor(version)
    first = extractor.descriptor(original)
    assert first.dtype == np.float32 and first.shape == (128,)
    assert np.array_equal(first, extractor.descriptor(Sample.from_png(original.to_png())))


def test_photo_without_a_face_is_no_face_found() -> None:
    assert code_of(encode(skdata.coffee())) == ErrorCode.NO_FACE_FOUND
    assert code_of(encode(np.full((300, 400, 3), 128, np.uint8), "JPEG")) == ErrorCode.NO_FACE_FOUND
    assert code_of(encode(np.full((1, 1), 0, np.uint8))) == ErrorCode.NO_FACE_FOUND


def test_undecodable_bytes_are_bad_image() -> None:
    jpeg = encode(astronaut(), "JPEG")
    assert code_of(b"") == ErrorCode.BAD_IMAGE
    assert code_of(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4) == ErrorCode.BAD_IMAGE
    assert code_of(jpeg[: len(jpeg) // 2]) == ErrorCode.BAD_IMAGE  # truncated
    assert code_of(encode(astronaut(), "GIF")) == ErrorCode.BAD_IMAGE  # not JPEG or PNG
    assert code_of(_png_header(8_000, 8_000)) == ErrorCode.BAD_IMAGE  # refused before decoding


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a huge size and carries no pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


def test_sample_round_trips_through_png_losslessly(original: Sample) -> None:
    png = original.to_png()
    assert png.startswith(b"\x89PNG") and png == original.to_png()
    back = Sample.from_png(png)
    assert back == original and not back.pixels.flags.writeable


@pytest.mark.parametrize("pixels", [np.zeros((100, 100, 3), np.uint8), np.zeros((150, 151, 3), np.uint8),
                                    np.zeros((300, 300, 3), np.uint8)])
def test_given_sample_that_is_not_150_square_is_bad_image(pixels: np.ndarray) -> None:
    with pytest.raises(PermanentError) as info:
        Sample.from_png(encode(pixels))
    assert info.value.code == ErrorCode.BAD_IMAGE
    with pytest.raises(PermanentError) as info:
        Sample(pixels)
    assert info.value.code == ErrorCode.BAD_IMAGE


def test_given_sample_in_grey_or_jpeg_is_accepted() -> None:
    assert Sample.from_png(encode(np.full((150, 150), 9, np.uint8))).pixels[0, 0].tolist() == [9, 9, 9]
    assert Sample.from_png(encode(np.zeros((150, 150, 3), np.uint8), "JPEG")).pixels.shape == (150, 150, 3)


def test_unknown_version_is_extractor_unavailable() -> None:
    with pytest.raises(PermanentError) as info:
        get_extractor("dlib-resnet-v0")
    assert info.value.code is ErrorCode.EXTRACTOR_UNAVAILABLE and int(info.value.code) == 16011
    assert set(EXTRACTORS) == {V1, V2}


def test_threads_share_one_model_and_agree(original: Sample) -> None:
    expected = EXTRACTORS[V1].descriptor(original)
    results: list[np.ndarray] = []
    workers = [threading.Thread(target=lambda: results.append(EXTRACTORS[V1].descriptor(original)))
               for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == 4 and all(np.array_equal(r, expected) for r in results)


def test_lazy_loads_once_under_a_race() -> None:
    loads: list[int] = []
    start = threading.Barrier(8)

    def load() -> object:
        loads.append(1)
        return object()

    lazy: Lazy[object] = Lazy(load)
    seen: list[object] = []

    def use() -> None:
        start.wait()
        seen.append(lazy.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len({id(s) for s in seen}) == 1


async def test_worker_process_gives_the_same_results(original: Sample) -> None:
    async with FaceWorker(workers=1) as faces:
        sample = await faces.sample(encode(astronaut()))
        assert sample == original and not sample.pixels.flags.writeable
        for version in (V1, V2):
            got = await faces.descriptor(version, sample)
            assert np.array_equal(got, EXTRACTORS[version].descriptor(original))
        with pytest.raises(PermanentError) as info:
            await faces.sample(encode(skdata.coffee()))
        assert info.value.code == ErrorCode.NO_FACE_FOUND
        with pytest.raises(PermanentError) as info:
            await faces.sample(b"not an image")
        assert info.value.code == ErrorCode.BAD_IMAGE
        with pytest.raises(PermanentError) as info:
            await faces.descriptor("nope", sample)
        assert info.value.code == ErrorCode.EXTRACTOR_UNAVAILABLE


async def test_a_dead_worker_is_transient_and_replaced(original: Sample) -> None:
    before = set(multiprocessing.active_children())
    async with FaceWorker(workers=1) as faces:
        for worker in set(multiprocessing.active_children()) - before:
            worker.kill()  # as the out-of-memory killer would
            worker.join()
        with pytest.raises(TransientError) as info:
            await faces.descriptor(V1, original)
        assert info.value.code == ErrorCode.INTERNAL
        got = await faces.descriptor(V1, original)  # a fresh pool
        assert np.array_equal(got, EXTRACTORS[V1].descriptor(original))
