"""Errors named exactly as AWS Secrets Manager names them.

Each carries the AWS error code and a message that is safe to show and log: no message ever
contains a secret value. Nothing here knows about HTTP; adapters map `code` to a status.
"""
from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger reports to a caller."""

    code = "InternalServiceError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ResourceNotFoundException(LedgerError):
    code = "ResourceNotFoundException"


class InvalidParameterException(LedgerError):
    code = "InvalidParameterException"


class InvalidRequestException(LedgerError):
    code = "InvalidRequestException"


class ResourceExistsException(LedgerError):
    code = "ResourceExistsException"


class LimitExceededException(LedgerError):
    code = "LimitExceededException"


class EncryptionFailure(LedgerError):
    code = "EncryptionFailure"


class DecryptionFailure(LedgerError):
    code = "DecryptionFailure"


class InvalidNextTokenException(LedgerError):
    code = "InvalidNextTokenException"


class MalformedPolicyDocumentException(LedgerError):
    code = "MalformedPolicyDocumentException"


class PublicPolicyException(LedgerError):
    code = "PublicPolicyException"


class PreconditionNotMetException(LedgerError):
    code = "PreconditionNotMetException"


class InternalServiceError(LedgerError):
    code = "InternalServiceError"


class ValidationException(LedgerError):
    """Framework-level shape validation (lengths, patterns, names), as AWS reports it."""

    code = "ValidationException"


class AccessDeniedException(LedgerError):
    code = "AccessDeniedException"


SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)


class UnknownOperationException(LedgerError):
    """The operation is not one this ledger serves."""

    code = "UnknownOperationException"
