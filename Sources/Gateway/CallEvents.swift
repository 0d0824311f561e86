import Foundation

/// A call's life as the API's event stream and webhooks tell it: started
/// (the record opened), answered (an agent or a number took it), ended (the
/// final record is committed).
public struct CallEvent: Sendable {
    public enum Kind: String, Sendable { case started, answered, ended }
    public var kind: Kind
    public var uniqueid: String
    /// `inbound` for a trunk's call, `outbound` for an agent's own.
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

/// An SMS as the API's event stream tells it: one came in from a customer, or
/// an agent sent one (its status once the next hop answered). The text itself
/// is on the timeline; a console reads it there.
public struct MessageEvent: Sendable {
    public enum Kind: String, Sendable { case received, sent }
    public var kind: Kind
    /// The customer's and the company's addresses, as the message had them.
    public var from: String
    public var to: String
    /// The agent in the conversation: the one the customer's SMS goes on to (SMS_AGENT), or the sender.
    public var agent: String?
    /// For `sent`: accepted or failed.
    public var status: String?
    public var time: Date
}
