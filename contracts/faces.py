"""Face commands and the `face` object. Descriptors enter the system through `face.create`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Base64Bytes, Field, model_validator

from contracts.base import Inbound, Outbound, Paged


class FaceCreate(Inbound):
    """`face.create` from a photo (`image`, base64 JPEG/PNG: the largest face is used) or from an
    aligned 150×150 `sample` (base64 PNG)."""

    account_id: UUID
    image: Base64Bytes | None = None
    sample: Base64Bytes | None = None
    person_id: UUID | None = None
    list_ids: list[UUID] = Field(default_factory=list, max_length=100)
    face_id: UUID | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FaceCreate:
        if (self.image is None) == (self.sample is None):
            raise ValueError("give exactly one of image or sample")
        return self


class FaceGet(Inbound):
    """`face.get`."""

    face_id: UUID


class FaceDelete(Inbound):
    """`face.delete`: the face, its descriptors and its sample."""

    face_id: UUID


class FaceList(Paged):
    """`face.list`; `free` selects faces linked to no person."""

    account_id: UUID | None = None
    person_id: UUID | None = None
    free: bool | None = None


class Face(Outbound):
    """`face`: one descriptor per extractor version, one stored sample."""

    face_id: UUID
    account_id: UUID
    person_id: UUID | None
    lists: list[UUID]
    descriptor_versions: list[str]
    create_time: datetime
    last_update_time: datetime


class FacePage(Outbound):
    """The result of `face.list`."""

    faces: list[Face]
    face_count: int
