public import IPFIX
public import SystemPackage

/// Why an exporter could not be made.
public enum IPFIXExporterError: Error, Hashable, Sendable {
    /// The UDP socket could not be opened or connected to the collector.
    case socket(Errno)
    /// The encoder refused the settings (a message size limit too small).
    case encoder(IPFIXError)
}
