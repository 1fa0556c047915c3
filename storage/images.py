"""The image store: sample bytes by sample id. GridFS in the service's MongoDB database by default;
any other backend (S3, …) implements the same three calls."""

from __future__ import annotations

from typing import Protocol

from gridfs import AsyncGridFSBucket
from gridfs.errors import CorruptGridFile, FileExists, NoFile
from pymongo.asynchronous.database import AsyncDatabase

from contracts.errors import ErrorCode, PermanentError, TransientError
from storage.errors import translated
from storage.mongo import Doc

BUCKET = "samples"


class SampleNotFound(PermanentError):
    """No image is stored under this sample id (13003)."""

    def __init__(self, sample_id: str) -> None:
        super().__init__(ErrorCode.SAMPLE_NOT_FOUND, f"sample {sample_id} not found in the image store")
        self.sample_id = sample_id


class ImageStore(Protocol):
    """Bytes by sample id. `put` is idempotent: storing the same id again keeps one copy."""

    async def put(self, sample_id: str, data: bytes) -> None: ...
    async def get(self, sample_id: str) -> bytes: ...
    async def delete(self, sample_id: str) -> bool: ...


class GridFsImageStore:
    """Samples as GridFS files of bucket `samples`, the file `_id` being the sample id.

    A redelivered command stores the same sample id again with the same bytes (samples are
    deterministic), so a file that already exists means the earlier delivery got this far.
    """

    def __init__(self, db: AsyncDatabase[Doc], bucket: str = BUCKET) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=bucket)
        self._files = db[f"{bucket}.files"]
        self._chunks = db[f"{bucket}.chunks"]

    async def put(self, sample_id: str, data: bytes) -> None:
        """Store once. GridFS writes the chunks before the file document, so chunks without a file
        are the remains of a put that died halfway: they are removed and the put done again."""
        async with translated():
            if await self._exists(sample_id):
                return
            try:
                await self._bucket.upload_from_stream_with_id(sample_id, sample_id, data)
            except FileExists:
                if await self._exists(sample_id):
                    return  # a concurrent put of the same sample finished first
                await self._chunks.delete_many({"files_id": sample_id})
                try:
                    await self._bucket.upload_from_stream_with_id(sample_id, sample_id, data)
                except FileExists as exc:
                    raise TransientError(f"sample {sample_id} is being written concurrently") from exc

    async def get(self, sample_id: str) -> bytes:
        """The stored bytes; `SampleNotFound` when there are none."""
        try:
            async with translated():
                stream = await self._bucket.open_download_stream(sample_id)
                return await stream.read()
        except NoFile:
            raise SampleNotFound(sample_id) from None
        except CorruptGridFile as exc:
            # Seen only while a put of the same id is replacing leftover chunks: read again later.
            raise TransientError(f"sample {sample_id} is being written: {exc}") from exc

    async def delete(self, sample_id: str) -> bool:
        """Remove the file and its chunks; False when there was no file."""
        try:
            async with translated():
                await self._bucket.delete(sample_id)
        except NoFile:
            return False
        return True

    async def _exists(self, sample_id: str) -> bool:
        return await self._files.find_one({"_id": sample_id}, projection={"_id": 1}) is not None
