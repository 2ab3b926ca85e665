"""Media fixtures: an S3-protocol server (moto, over HTTP) and the app on either storage backend."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
import pytest_asyncio

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.session import Database
from postpost.storage import LocalStorage, S3Storage, Storage, open_storage
from tests.conftest import SECRET

S3_KEY_ID = "test-key-id"
S3_SECRET = "test-secret-access-key"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a loopback port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint: str, engine_name: str) -> str:
    """A bucket per database engine (the sweeper treats objects without a row as orphans)."""
    bucket = f"postpost-media-{engine_name}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    client.create_bucket(Bucket=bucket)
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read))
    client.close()
    return bucket


@pytest.fixture(scope="session")
def s3_settings(settings: Settings, s3_endpoint: str, s3_bucket: str) -> Settings:
    return Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        secret_key=SECRET,  # type: ignore[arg-type]
        s3_bucket=s3_bucket,
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key_id=S3_KEY_ID,
        s3_secret_access_key=S3_SECRET,  # type: ignore[arg-type]
    )


@dataclass
class Backend:
    """The API on one storage backend, and that backend for direct checks."""

    name: str
    client: httpx.AsyncClient
    storage: Storage
    database: Database

    async def exists(self, key: str) -> bool:
        return await self.storage.stat(key) is not None


@pytest_asyncio.fixture(params=["local", "s3"])
async def backend(
    request: pytest.FixtureRequest, settings: Settings, database: Database
) -> AsyncIterator[Backend]:
    chosen = request.getfixturevalue("s3_settings") if request.param == "s3" else settings
    storage = open_storage(chosen)
    app = create_app(chosen, database, storage=storage)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Backend(request.param, client, storage, database)
    await storage.close()


@pytest.fixture
def local_storage(app: Any) -> LocalStorage:
    """The default app's storage (local files)."""
    storage = app.state.services.storage
    assert isinstance(storage, LocalStorage)
    return storage


@pytest_asyncio.fixture
async def s3_storage(s3_settings: Settings) -> AsyncIterator[S3Storage]:
    storage = open_storage(s3_settings)
    assert isinstance(storage, S3Storage)
    yield storage
    await storage.close()


async def create_draft(client: httpx.AsyncClient, user: Any, platform_ids: list[str]) -> str:
    r = await client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "With media", "platforms": platform_ids}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["postGroupId"])


async def upload_url(
    client: httpx.AsyncClient,
    user: Any,
    group_id: str,
    content_type: str,
    file_name: str = "file.bin",
    **extra: Any,
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/get-upload-url",
        headers=user.headers,
        json={"fileName": file_name, "contentType": content_type, "postGroupId": group_id, **extra},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def put_file(client: httpx.AsyncClient, url: str, data: bytes, content_type: str) -> httpx.Response:
    """PUT to an upload URL: through the app for local URLs, over HTTP to the S3 server otherwise."""
    if url.startswith("http://127.0.0.1:8000/"):
        return await client.put(url, content=data, headers={"content-type": content_type})
    async with httpx.AsyncClient() as outside:
        return await outside.put(url, content=data, headers={"content-type": content_type})


def unique_name(stem: str = "file") -> str:
    return f"{stem}-{secrets.token_hex(3)}"
