"""Key management: the root key, local KMS keys, envelope encryption and the mutable key store."""
