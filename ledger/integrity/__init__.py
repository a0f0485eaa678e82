"""Tamper evidence for the log: per-originator hash chains, signed Merkle digests, verification
and inclusion proofs, after CloudTrail's log file integrity validation."""
