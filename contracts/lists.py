"""List commands and the `luna_list` object."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Inbound, Label, Outbound, Paged

ListType = Literal["persons", "descriptors"]


class ListCreate(Inbound):
    """`list.create`: a list of persons (default) or of faces' descriptors."""

    account_id: UUID
    type: ListType = "persons"
    user_data: Label = ""
    list_id: UUID | None = None


class ListGet(Inbound):
    """`list.get`."""

    list_id: UUID


class ListList(Paged):
    """`list.list`: optionally one account's, optionally one type."""

    account_id: UUID | None = None
    type: ListType | None = None


class ListUpdate(Inbound):
    """`list.update`: new `user_data`."""

    list_id: UUID
    user_data: Label


class ListDelete(Inbound):
    """`list.delete`: members are detached, not deleted."""

    list_id: UUID


class _Members(Inbound):
    list_id: UUID
    person_ids: list[UUID] | None = Field(default=None, max_length=1000)
    face_ids: list[UUID] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _one_kind(self) -> _Members:
        if (self.person_ids is None) == (self.face_ids is None):
            raise ValueError("give exactly one of person_ids or face_ids")
        return self


class ListAttach(_Members):
    """`list.attach`: persons to a persons list, faces to a descriptors list; twice counts once."""


class ListDetach(_Members):
    """`list.detach`: the reverse; detaching a non-member changes nothing."""


class LunaList(Outbound):
    """`luna_list`; `last_update_time` is the last effective attach or detach."""

    list_id: UUID
    account_id: UUID
    user_data: str
    type: ListType
    count_object_in_list: int
    last_update_time: datetime


class ListPage(Outbound):
    """The result of `list.list`."""

    lists: list[LunaList]
    list_count: int
