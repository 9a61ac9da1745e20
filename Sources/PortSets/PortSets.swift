/// PortSets owns the arithmetic of shared-address port sets: PSID geometries and their port ranges
/// (RFC 7597 section 5.1), the OPTION_V4_PORTPARAMS codec that carries them (RFC 7618 section 9),
/// and contiguous port ranges with the parity flag of the PCP PORT_SET option (RFC 7753).
///
/// Everything here is a value type with validating, typed-throwing initialisers; once a value
/// exists its invariants hold, so the hot queries (`psid(ofPort:)`, `contains`) need no checks.
/// No Foundation, no syscalls, no allocation outside the `[UInt8]` conveniences.
public enum PortSetsModule {}
