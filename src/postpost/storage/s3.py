"""S3-compatible storage (AWS S3, MinIO, Cloudflare R2, …) through boto3.

Clients PUT straight to the bucket with a presigned URL whose signature covers the Content-Type
(SigV4 signed header), so another type is refused by the store. A presigned PUT cannot carry a
size limit: the plan's cap is checked when the upload is first probed. boto3 is blocking, so
every call runs in a thread; presigning is local computation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from postpost.storage.base import CHUNK_SIZE, ObjectInfo, Storage

DELETE_BATCH = 1000  # most keys one DeleteObjects call takes
MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage(Storage):
    """One bucket. `public_url` (e.g. a CDN) is the base of `fileUrl` when set."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        public_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.region = region or "us-east-1"
        self.public_url = public_url.rstrip("/") if public_url else None
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "virtual"},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=32,
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    def upload_url(self, key: str, content_type: str, *, expires_in: int, max_bytes: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        return str(self._client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in))

    def file_url(self, key: str) -> str:
        path = quote(key)
        if self.public_url:
            return f"{self.public_url}/{path}"
        if self.endpoint_url:
            return f"{self.endpoint_url}/{self.bucket}/{path}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{path}"

    def signed_fetch_url(self, key: str, expires_in: int) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        return str(self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in MISSING:
                return None
            raise
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            modified=head["LastModified"],
            content_type=head.get("ContentType", ""),
            metadata=dict(head.get("Metadata", {})),
        )

    async def stream(
        self, key: str, *, offset: int = 0, chunk_size: int = CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if offset:
            request["Range"] = f"bytes={offset}-"
        try:
            response = await asyncio.to_thread(self._client.get_object, **request)
        except ClientError as exc:
            if _code(exc) in MISSING:
                raise FileNotFoundError(key) from exc
            if _code(exc) == "InvalidRange":  # offset at or past the end
                return
            raise
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    async def put(
        self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata=dict(metadata or {}),
        )

    async def delete(self, keys: Iterable[str]) -> None:
        pending = list(keys)
        for start in range(0, len(pending), DELETE_BATCH):
            batch = [{"Key": key} for key in pending[start : start + DELETE_BATCH]]
            result = await asyncio.to_thread(
                self._client.delete_objects, Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            errors = result.get("Errors") or []
            if errors:
                raise OSError(f"S3 refused to delete {len(errors)} objects: {errors[0].get('Message')}")

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        token: str | None = None
        while True:
            request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                request["ContinuationToken"] = token
            page = await asyncio.to_thread(self._client.list_objects_v2, **request)
            for item in page.get("Contents", []):
                yield ObjectInfo(key=item["Key"], size=int(item["Size"]), modified=item["LastModified"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
