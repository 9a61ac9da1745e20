/// ExportLog sends plainmode's NAT event log off the box: `IPFIXExporter` owns a connected,
/// non-blocking UDP socket to one collector and sends the `IPFIX` module's messages through it,
/// with the templates at start, on a timer and after a failed send (RFC 7011 section 8.4).
/// It is meant for the daemon's logging thread: nothing here blocks or retries.
public enum ExportLogModule {}
