"""Files on a pyarrow file system (s3://, gs://, hdfs://, file://): one place that opens them.

An S3 URI gets its endpoint, region and credentials from the environment only, as the AWS tools
read them (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION or AWS_DEFAULT_REGION,
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile), never from a command line; it fails
within seconds when the endpoint does not answer, instead of retrying for minutes.
"""

from __future__ import annotations

import os
from functools import lru_cache

import pyarrow.fs as pafs

#: Seconds to connect, seconds without progress, tries per request (an endpoint that refuses
#: connections fails in about a second; a silent one in about 2 × CONNECT).
CONNECT, STALLED, ATTEMPTS = 2, 30, 3


def is_uri(location: object) -> bool:
    return isinstance(location, str) and "://" in location


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The file system of `uri` and the path inside it (an S3 path starts with the bucket)."""
    if uri.startswith("s3://"):
        path = uri[len("s3://"):].rstrip("/")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not endpoint and not region:  # AWS itself: the bucket's own region, as pyarrow's from_uri finds it
            region = _bucket_region(path.split("/", 1)[0])
        fs = pafs.S3FileSystem(endpoint_override=endpoint or None, region=region, connect_timeout=CONNECT,
                               request_timeout=STALLED, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=ATTEMPTS))
        return fs, path
    return pafs.FileSystem.from_uri(uri)


@lru_cache(maxsize=64)
def _bucket_region(bucket: str) -> str | None:
    try:
        return pafs.resolve_s3_region(bucket)
    except (OSError, ValueError):
        return None  # the SDK's default; the request that follows says what is wrong


def join(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}"


__all__ = ["filesystem", "is_uri", "join"]
