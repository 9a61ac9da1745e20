/// LeaseStore: port-set leases kept durably in SQLite (RFC 7618 section 8), so a restarted
/// concentrator gives each subscriber back the address and PSID it had. `LeaseDatabase` owns the
/// file (checked before anything writes to it); `LeaseJournal` takes the allocator's events on the
/// relay threads without blocking them and commits them in batches on one writer thread.
