/// AllocationLog: the concentrator's allocation log (RFC 6888 section 4, REQ-12). Lease events
/// (allocation, renewal, release, and the leases held at start-up), exhaustion, and with
/// `--log-sessions` every relayed flow, go through one bounded queue to one logging thread that
/// formats them and writes them to the configured outputs (JSON lines, RFC 5424 syslog, IPFIX).
/// The relay loops only append to the queue; when it is full a record is dropped and counted.
public enum AllocationLogModule {}
