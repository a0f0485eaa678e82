"""The read side: views built from the ledger's log, and the questions auditors ask of them.

    read_models    the views a ledger owns; read-your-writes for DescribeSecret and listings
    current_state  secrets, versions, labels, tags, deletion state, KMS keys (+ their queries),
                   with history: `secret_fold` folds changes, `secret_history` reads them back
    audit_trail    the trail's index for LookupEvents (`lookup`); records are rendered from the
                   log on demand (`audit_records`), exported by `export`
    point_in_time  a secret or the whole ledger as of a time or a log position
    replay         rebuild every view from position 0 in fresh storage and compare
    runner, store  exactly-once catch-up; rows and position in one SQLite transaction
    log_reader     the log's events by position, decoded as the mapper does, cheaper
    view_schema    views whose tables changed shape are dropped and rebuilt
"""
