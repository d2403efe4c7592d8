"""File store adapters (port `application.ports.FileStore`) and the signed download URLs.

`STORAGE_URL` picks the adapter: `file://` (default: `DATA_DIR/files`), `file:///absolute/dir`, or
`s3://<bucket>?endpoint_url=<url>&region=<region>` for any S3-compatible bucket (AWS, MinIO, ...;
credentials from boto3's usual chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, roles).
Bytes always move in chunks: nothing reads a whole file into memory."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlencode, urlsplit

from domain.files import TYPE_OF_EXTENSION

CHUNK = 256 * 1024


class LocalFileStore:
    """Files under one directory; a key's segments are path segments. A file appears whole or not
    at all (written to a temporary file in the same directory tree, then renamed)."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".partial").mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        # keys are grammar-checked before they get here; this is defence in depth against traversal
        path = self.root.joinpath(*key.split("/")).resolve()
        if self.root not in path.parents or key.startswith(".partial"):
            raise ValueError(f"key outside the store: {key!r}")
        return path

    def put(self, key: str, source: BinaryIO) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=self.root / ".partial")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
                size = out.tell()
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return size

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            return None
        return os.fstat(handle.fileno()).st_size, _read(handle)

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def keys(self, prefix: str) -> list[str]:
        """Every stored key starting with `prefix` (a folder prefix such as `users/<id>/`)."""
        folder, _, start = prefix.rpartition("/")
        base = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not base.is_dir() or (folder and self.root not in base.resolve().parents):
            return []
        found = []
        for path in base.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not key.startswith(".partial"):
                found.append(key)
        return sorted(found)


def _read(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


class S3FileStore:
    """One S3-compatible bucket (boto3). Uploads use boto3's managed transfer (multipart above 8 MB),
    downloads stream the object's body."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(s3={"addressing_style": "path"} if endpoint_url else {}, retries={"max_attempts": 3}),
        )

    def put(self, key: str, source: BinaryIO) -> int:
        extension = key.rsplit(".", 1)[-1]
        extra = {"ContentType": TYPE_OF_EXTENSION.get(extension, "application/octet-stream")}
        self.client.upload_fileobj(source, self.bucket, key, ExtraArgs=extra)
        size = self.size(key)
        assert size is not None
        return size

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def open(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        from botocore.exceptions import ClientError

        try:
            found = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(found["ContentLength"]), _stream(found["Body"])

    def delete(self, key: str) -> bool:
        if self.size(key) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def build_store(storage_url: str, data_dir: Path) -> LocalFileStore | S3FileStore:
    parts = urlsplit(storage_url)
    if parts.scheme == "file":
        return LocalFileStore(Path(parts.path) if parts.path not in ("", "/") else data_dir / "files")
    if parts.scheme == "s3":
        if not parts.netloc:
            raise RuntimeError("STORAGE_URL=s3://<bucket>?endpoint_url=...&region=... needs a bucket name")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        return S3FileStore(parts.netloc, query.get("endpoint_url"), query.get("region"))
    raise RuntimeError(f"STORAGE_URL must start with file:// or s3:// (got {storage_url!r})")


class UrlSigner:
    """Proxy URLs of stored files. A signed URL (contract platform §4.3) carries an expiry and an
    HMAC-SHA256 of key, expiry and file name under a server secret: whoever holds it may download
    that file, under that name, until it expires."""

    def __init__(self, backend_url: str, secret: bytes, lifetime: int = 3600):
        self.base = backend_url.rstrip("/") + "/api/v1/storage/proxy"
        self.secret = hmac.new(secret, b"signed file urls", hashlib.sha256).digest()
        self.lifetime = lifetime

    def plain(self, key: str) -> str:
        return f"{self.base}?{urlencode({'key': key}, safe='/')}"

    def signature(self, key: str, expires: int, filename: str) -> str:
        message = f"{key}\n{expires}\n{filename}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def signed(self, key: str, filename: str, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + self.lifetime
        query = {
            "key": key,
            "filename": filename,
            "expires": expires,
            "signature": self.signature(key, expires, filename),
        }
        return f"{self.base}?{urlencode(query, safe='/')}"

    def valid(self, key: str, filename: str, expires: str, signature: str) -> bool:
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self.signature(key, int(expires), filename), signature)
