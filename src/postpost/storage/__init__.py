"""Media storage backends; `open_storage` picks one from the settings."""

from __future__ import annotations

from postpost.config import Settings
from postpost.storage.base import AccessDenied, ObjectInfo, Storage
from postpost.storage.local import LocalStorage
from postpost.storage.s3 import S3Storage

__all__ = ["AccessDenied", "LocalStorage", "ObjectInfo", "S3Storage", "Storage", "open_storage"]


def open_storage(settings: Settings) -> Storage:
    """S3 when POSTPOST_S3_BUCKET is set, else files under `<data_dir>/media` served by this server."""
    if settings.s3_bucket:
        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            public_url=settings.s3_public_url,
        )
    return LocalStorage(settings.media_dir, settings.base_url(), settings.resolved_secret_key)
