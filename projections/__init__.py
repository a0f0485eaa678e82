"""The read side: views built from the ledger's log, and the questions auditors ask of them.

    read_models    the views a ledger owns; read-your-writes for DescribeSecret and listings
    current_state  secrets, versions, labels, tags, deletion state, KMS keys (+ their queries)
    audit_trail    CloudTrail records, indexed for LookupEvents (`lookup`), exported by `export`
    point_in_time  a secret or the whole ledger as of a time or a log position
    replay         rebuild every view from position 0 in fresh storage and compare
    runner, store  exactly-once catch-up; rows and position in one SQLite transaction
"""
