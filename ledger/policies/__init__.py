"""An IAM-style policy engine: parse documents, decide requests, spot public resource policies.

Pure and I/O-free: callers pass documents and condition keys in, and get decisions out. The
ledger's operations gather the caller's identity policies, the secret's resource policy and the
key policies, and ask `evaluate` / `evaluate_key` before doing anything.
"""
from ledger.policies.actions import (ACCOUNT_SCOPED, KMS_DECRYPT, KMS_ENCRYPT,
                                     KMS_GENERATE_DATA_KEY, KeyUse, Permission,
                                     access_denied_message, batch_member_permission, iam_action,
                                     key_uses, required_permissions, resource_for)
from ledger.policies.context_keys import principal_context, secret_context
from ledger.policies.document import (PolicyDocument, PolicyKind, Principals, Statement,
                                      parse_policy)
from ledger.policies.evaluate import (AuthzRequest, Decision, MatchedStatement, evaluate,
                                      evaluate_key)
from ledger.policies.key_policies import default_key_policy, managed_key_policy
from ledger.policies.public import (check_not_public, is_public, public_statements,
                                    validate_resource_policy, validation_response)

__all__ = [
    "ACCOUNT_SCOPED", "KMS_DECRYPT", "KMS_ENCRYPT", "KMS_GENERATE_DATA_KEY", "AuthzRequest",
    "Decision", "KeyUse", "MatchedStatement", "Permission", "PolicyDocument", "PolicyKind",
    "Principals", "Statement", "access_denied_message", "batch_member_permission",
    "check_not_public", "default_key_policy", "evaluate", "evaluate_key", "iam_action",
    "is_public", "key_uses", "managed_key_policy", "parse_policy", "principal_context",
    "public_statements", "required_permissions", "resource_for", "secret_context",
    "validate_resource_policy", "validation_response",
]
