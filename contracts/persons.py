"""Person commands and the `luna_person` object. A face belongs to at most one person."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from contracts.base import Inbound, Label, Outbound, Paged


class PersonCreate(Inbound):
    """`person.create`."""

    account_id: UUID
    user_data: Label = ""
    external_id: Label | None = None
    person_id: UUID | None = None


class PersonGet(Inbound):
    """`person.get`."""

    person_id: UUID


class PersonList(Paged):
    """`person.list`: optionally one account's, optionally by `external_id`."""

    account_id: UUID | None = None
    external_id: Label | None = None


class PersonUpdate(Inbound):
    """`person.update`."""

    person_id: UUID
    user_data: Label | None = None
    external_id: Label | None = None


class PersonDelete(Inbound):
    """`person.delete`: its faces become free unless `with_faces`."""

    person_id: UUID
    with_faces: bool = False


class PersonLinkFace(Inbound):
    """`person.link_face`: 40003 when the face is linked to another person."""

    person_id: UUID
    face_id: UUID


class PersonUnlinkFace(Inbound):
    """`person.unlink_face`."""

    person_id: UUID
    face_id: UUID


class LunaPerson(Outbound):
    """`luna_person`."""

    person_id: UUID
    account_id: UUID
    faces: list[UUID]
    lists: list[UUID]
    user_data: str
    external_id: str | None
    create_time: datetime


class PersonPage(Outbound):
    """The result of `person.list`."""

    persons: list[LunaPerson]
    person_count: int
