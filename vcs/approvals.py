"""What a delivery asks of an approval: who approved a version, when, signed, verified, why not.

Public surface:
    ApprovalStatus (dataclass), approval_status(vault, version) -> ApprovalStatus

The judging itself (signatures against the vault's trusted keys, roles, required signatures) is
vcs.trust; the Vault applies it to every approval tag it reads (Version.approval when the tag
counts, Version.void_approval when it does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vcs.models import Version
from vcs.vault import Vault

__all__ = ["ApprovalStatus", "approval_status"]


@dataclass(frozen=True)
class ApprovalStatus:
    """The approval of one version, as a delivery reports it.

    Attributes:
        ref: the version (``1M03@2.0``).
        approved: whether the version is approved under the vault's rules.
        tag: the approval tag ("" when there is none).
        by: the tag's tagger (what git recorded; a claim unless ``verified``).
        email: the tagger's e-mail.
        date: when (ISO 8601).
        signed: a signature is present.
        verified: git verified it with a trusted key, and the key is a supervisor's.
        signer: whose key signed, as the vault's trusted keys name it.
        key: the signing key's fingerprint.
        why: why it is not verified, or why the version is not approved; "" when verified.
        files: file -> sha256 the approval recorded.
    """

    ref: str
    approved: bool
    tag: str = ""
    by: str = ""
    email: str = ""
    date: str = ""
    signed: bool = False
    verified: bool = False
    signer: str = ""
    key: str = ""
    why: str = ""
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "approved": self.approved, "tag": self.tag or None, "by": self.by or None,
                "email": self.email or None, "date": self.date or None, "signed": self.signed,
                "verified": self.verified, "signer": self.signer or None, "key": self.key or None,
                "why": self.why or None}


def approval_status(vault: Vault, version: Version | str) -> ApprovalStatus:
    """Who approved ``version`` (a Version read with its details, or a reference such as
    ``1M03@2.0``), when, whether the approval is signed and verified, and why not.

    Raises:
        UsageError: for a reference that names no version.
    """
    v = vault.resolve(version) if isinstance(version, str) else version
    a = v.approval or v.void_approval
    if a is None:
        return ApprovalStatus(v.ref, False, why="not approved")
    return ApprovalStatus(v.ref, v.approval is not None, a.tag, a.by, a.email, a.date, a.signed, a.verified,
                          a.signer, a.key, a.why, dict(a.files))
