import Foundation

/// A call's life as the API's event stream and webhooks tell it: started
/// (the record opened), answered (an agent or a number took it), ended (the
/// final record is committed).
public struct CallEvent: Sendable {
    public enum Kind: String, Sendable { case started, answered, ended }
    public var kind: Kind
    public var uniqueid: String
    /// `in` for a trunk's call, `out` for an agent's own.
    public var direction: String
    /// The caller's number (an agent's name for its own call).
    public var from: String
    /// The number or extension dialled.
    public var to: String
    public var agent: String?
    public var queue: String?
    /// For `ended`: ANSWERED, NO ANSWER, BUSY, FAILED.
    public var disposition: String?
    public var time: Date
}
