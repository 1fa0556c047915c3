"""Descriptors pack into 512 little-endian float32 bytes and back, and compare by Euclidean distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from consumers.descriptors import PACKED_SIZE, distance, pack, unpack

finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(arrays(np.float32, 128, elements=finite32))
def test_pack_unpack_round_trip_is_exact(values: np.ndarray) -> None:
    data = pack(values)
    assert len(data) == PACKED_SIZE
    back = unpack(data)
    assert back.dtype == np.float32 and back.shape == (128,)
    assert np.array_equal(back, values)


def test_pack_is_little_endian_float32_whatever_the_input_type() -> None:
    values = np.arange(128, dtype=np.float64) / 7
    data = pack(values)
    assert data[:4] == np.float32(0).tobytes() and data[4:8] == np.array([1 / 7], "<f4").tobytes()
    assert pack(values.astype(">f4")) == data
    assert pack(list(values)) == data


def test_unpacked_descriptor_is_writable_and_independent_of_the_bytes() -> None:
    back = unpack(pack(np.ones(128)))
    back[0] = 5.0
    assert unpack(pack(np.ones(128)))[0] == 1.0


@pytest.mark.parametrize("values", [np.zeros(127), np.zeros(129), np.full(128, np.nan),
                                    np.full(128, np.inf)])
def test_pack_rejects_what_is_not_a_descriptor(values: np.ndarray) -> None:
    with pytest.raises(ValueError):
        pack(values)


@pytest.mark.parametrize("size", [0, 511, 513, 1024])
def test_unpack_rejects_wrong_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="512 bytes"):
        unpack(b"\0" * size)


def test_distance_is_euclidean() -> None:
    a = np.zeros(128, np.float32)
    b = np.zeros(128, np.float32)
    b[:4] = [3, 4, 0, 0]
    assert distance(a, b) == pytest.approx(5.0)
    assert distance(b, a) == distance(a, b)
    assert distance(a, a) == 0.0
    assert distance(np.ones(128), np.zeros(128)) == pytest.approx(math.sqrt(128))


def test_distance_survives_packing() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(2, 128)).astype(np.float32)
    assert distance(unpack(pack(a)), unpack(pack(b))) == distance(a, b)


def test_distance_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        distance(np.zeros(128), np.zeros(64))
