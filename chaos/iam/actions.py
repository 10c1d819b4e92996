"""From botocore operations to IAM actions.

Most services authorise an operation under ``<prefix>:<OperationName>``, the prefix being the
service's signing name. S3 differs for some operations; those are AWS's documented mapping
("Amazon S3 API operations and the permissions they need"), listed here because no botocore data
carries them.
"""

from __future__ import annotations

from chaos.engine import botodata

__all__ = ["iam_action", "iam_prefix"]

_S3 = {
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "HeadObject": "s3:GetObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "ListParts": "s3:ListMultipartUploadParts",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "DeleteObjects": "s3:DeleteObject",
    "ListBuckets": "s3:ListAllMyBuckets",
    "GetObjectAttributes": "s3:GetObject",
}


# Services whose IAM prefix is not their signing name (CloudWatch signs as "monitoring").
_PREFIXES = {"cloudwatch": "cloudwatch"}


def iam_prefix(service: str) -> str:
    """The IAM action prefix of a botocore service: its signing name, except where AWS differs."""
    if service in _PREFIXES:
        return _PREFIXES[service]
    metadata = botodata.service_model(service).metadata
    return str(metadata.get("signingName") or metadata.get("endpointPrefix") or service)


def iam_action(service: str, operation: str) -> str:
    """``s3:GetObject`` for (s3, GetObject), ``s3:ListBucket`` for (s3, ListObjectsV2)."""
    if service == "s3" and operation in _S3:
        return _S3[operation]
    return f"{iam_prefix(service)}:{operation}"
