"""Which action a deny names, where AWS's operation -> action list does not say by itself.

AWS's service reference lists every action an operation may need. For most operations one of
them is the operation's own (named like it, or the only one under the service's prefix) and
:mod:`chaos.iam.actions` picks it. For the operations below the list has several candidates and
none is the operation's own, so the choice is written down here, each with the AWS page that
states the permission the operation needs. ``scripts/refresh_iam_actions.py`` leaves this table
alone and checks it against new data (an override naming an action AWS no longer defines fails
the refresh; one the data now resolves the same way by itself is reported, to be removed).

The choice follows one principle: deny the action AWS checks on every call of the operation and
no action it does not need, because every extra action denied fails other operations too. Where
the operation is authorised by one of several actions depending on the request (PartiQL
statements, the items of a transaction), all of them are denied, or some calls would get through.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OVERRIDES", "Override"]

_S3_API = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_{}.html"
_PARTIQL = (
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLSelect",
    "dynamodb:PartiQLUpdate",
)
_PARTIQL_DOC = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html"


@dataclass(frozen=True)
class Override:
    """The actions a deny names for one operation, the AWS page that says so, and why."""

    actions: tuple[str, ...]
    doc: str
    why: str


OVERRIDES: dict[tuple[str, str], Override] = {
    ("s3", "ListObjects"): Override(
        ("s3:ListBucket",),
        _S3_API.format("ListObjects"),
        "listing needs s3:ListBucket on the bucket; the reference also lists s3:GetObjectAcl, "
        "which denied would fail GetObjectAcl as well",
    ),
    ("s3", "ListObjectsV2"): Override(
        ("s3:ListBucket",),
        _S3_API.format("ListObjectsV2"),
        "listing needs s3:ListBucket on the bucket; the reference also lists s3:GetObjectAcl, "
        "which denied would fail GetObjectAcl as well",
    ),
    ("s3", "HeadObject"): Override(
        ("s3:GetObject",),
        _S3_API.format("HeadObject"),
        "HEAD needs s3:GetObject; s3:GetObjectLegalHold and s3:GetObjectRetention only for those headers",
    ),
    ("s3", "GetObjectAttributes"): Override(
        ("s3:GetObjectAttributes",),
        _S3_API.format("GetObjectAttributes"),
        "needs s3:GetObject and s3:GetObjectAttributes (the reference lists only the first); denying "
        "the operation's own action fails it without failing every GetObject",
    ),
    ("s3", "CreateMultipartUpload"): Override(
        ("s3:PutObject",),
        _S3_API.format("CreateMultipartUpload"),
        "an upload needs s3:PutObject; the ACL, tagging, retention and legal-hold actions only for those headers",
    ),
    ("s3", "CopyObject"): Override(
        ("s3:PutObject",),
        _S3_API.format("CopyObject"),
        "a copy needs s3:GetObject on the source and s3:PutObject on the destination; denying "
        "s3:PutObject fails every copy, denying s3:GetObject as well would fail every read of the bucket",
    ),
    ("s3", "UploadPartCopy"): Override(
        ("s3:PutObject",),
        _S3_API.format("UploadPartCopy"),
        "as CopyObject: s3:GetObject on the source, s3:PutObject on the destination; the write is denied",
    ),
    ("s3", "DeleteObjects"): Override(
        ("s3:DeleteObject",),
        _S3_API.format("DeleteObjects"),
        "a batch delete needs s3:DeleteObject for each key; s3:DeleteObjectVersion only with version "
        "ids, s3:BypassGovernanceRetention only with that header",
    ),
    ("dynamodb", "ExecuteStatement"): Override(
        _PARTIQL,
        _PARTIQL_DOC,
        "each PartiQL statement is authorised by the action of its kind: all four are denied",
    ),
    ("dynamodb", "BatchExecuteStatement"): Override(
        _PARTIQL,
        _PARTIQL_DOC,
        "each PartiQL statement is authorised by the action of its kind: all four are denied",
    ),
    ("dynamodb", "ExecuteTransaction"): Override(
        _PARTIQL,
        _PARTIQL_DOC,
        "each PartiQL statement is authorised by the action of its kind: all four are denied",
    ),
    ("dynamodb", "TransactWriteItems"): Override(
        ("dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html",
        "each item of a transaction is authorised by the action of its kind: all four are denied",
    ),
    ("kms", "ReEncrypt"): Override(
        ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html",
        "needs kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination key; "
        "no other operation uses either",
    ),
}
