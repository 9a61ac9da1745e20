/// Why the IPFIX encoder refused its input; one case per rejection.
public enum IPFIXError: Error, Hashable, Sendable {
    /// The message size limit cannot hold the templates message or the largest data record.
    case messageSizeLimitTooSmall(limit: Int, needed: Int)
    /// A port block whose end lies below its start, whose step is 0, or whose port count is not
    /// what start, end and step give.
    case invalidPortBlock(start: UInt16, end: UInt16, stepSize: UInt16, portCount: UInt16)
}
