/// Who a port set, a mapping and a log line belong to: the id of a line of the subscribers file,
/// or, for a source in no line, its default prefix written as text ("192.0.2.7/32").
public struct SubscriberID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The id as the operator wrote it (or the default prefix's text).
    public let text: String

    public init(_ text: String) {
        self.text = text
    }

    public var description: String { text }

    public static func < (lhs: SubscriberID, rhs: SubscriberID) -> Bool { lhs.text < rhs.text }
}
