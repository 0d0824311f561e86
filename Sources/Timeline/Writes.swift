import Foundation

/// One write the gateway makes, as data: it can wait in memory, be appended to
/// a spill file and be applied later, any number of times, with the same result
/// (every case is idempotent). `TimelineStore.apply` runs many in one transaction.
public enum StoreWrite: Sendable, Codable, Equatable {
    /// A call arrived (its record opens as `ringing`).
    case openCall(CallRecord)
    /// A call was answered or bridged to an agent (`state` is `answered` or `bridged`).
    case callProgress(uniqueid: String, state: String, answer: Date?, agent: String?, dstchannel: String?, queue: String?)
    /// A call ended: its full record, and its voice event.
    case finalizeCall(CallRecord)
    case incomingSMS(from: String, to: String, body: String, reference: String, time: Date)
    case outgoingSMS(to: String, from: String, body: String, reference: String, agent: String?, time: Date)
    case smsStatus(reference: String, status: MessageStatus)
    case voicemail(callID: String, from: String, mailbox: String, recordingPath: String, durationMilliseconds: Int, time: Date)
    /// A gateway run started, is still alive, or stopped.
    case runStarted(GatewayRun)
    case runAlive(id: String, at: Date, stopped: Bool)
    /// An agent logged in or out, paused or came back, joined or left a queue.
    case agentState(SavedAgentState)
    /// An agent's phones registered with run `run` now (all of them: that run's saved ones are replaced).
    case registrations(agent: String, bindings: [SavedRegistration], run: String? = nil)
    /// Run `run` takes an agent (rings it, or it is on or wrapping up one of its calls), unless another run holds it.
    case agentClaim(agent: String, run: String, at: Date)
    /// Run `run` lets the agent go.
    case agentRelease(agent: String, run: String)
    /// A caller waits in a queue (joined, or rings agents now, or waits again).
    case queueCaller(WaitingCaller)
    /// The caller left the queue (answered, gave up, hung up).
    case queueCallerLeft(call: String)

    /// The call (uniqueid) or message (reference) the write is about, for log lines.
    public var subject: String? {
        switch self {
        case .openCall(let record), .finalizeCall(let record): record.uniqueid
        case .callProgress(let uniqueid, _, _, _, _, _): uniqueid
        case .incomingSMS(_, _, _, let reference, _), .outgoingSMS(_, _, _, let reference, _, _), .smsStatus(let reference, _):
            "sms:" + reference
        case .voicemail(let callID, _, _, _, _, _): callID
        case .queueCaller(let caller): caller.call
        case .queueCallerLeft(let call): call
        case .runStarted, .runAlive, .agentState, .registrations, .agentClaim, .agentRelease: nil
        }
    }

    /// True for the write that completes a call or message on the timeline (what a lost write would lose).
    public var isRecord: Bool {
        switch self {
        case .finalizeCall, .incomingSMS, .outgoingSMS, .voicemail: true
        default: false
        }
    }
}

extension TimelineStore {
    /// Applies `writes` in order in one transaction, each in its own savepoint: a
    /// write the store refuses (a value no retry changes) is rolled back alone and
    /// returned with its index; the others commit together.
    /// - Throws: a transient `StoreError` (`isTransient`) when the store cannot be
    ///   written now; nothing of the batch is committed then.
    @discardableResult
    public func apply(_ writes: [StoreWrite]) throws -> [(index: Int, error: StoreError)] {
        guard !writes.isEmpty else { return [] }
        if dialect == .postgresql && writes.count > 1 {
            // A PostgreSQL savepoint is a subtransaction, and past 64 in one transaction every
            // session pays for them: the batch goes in without, and only a batch holding a write
            // the store refuses (rare: values are fitted first) is applied again, a savepoint each.
            do {
                try write { db in for write in writes { try apply(write, db) } }
                return []
            } catch let error as StoreError where !error.isTransient {}
        }
        return try write { db in
            var refused: [(index: Int, error: StoreError)] = []
            for (index, write) in writes.enumerated() {
                try db.execute("SAVEPOINT write")
                do {
                    try apply(write, db)
                    try db.execute("RELEASE write")
                } catch let error as StoreError where !error.isTransient {
                    try db.execute("ROLLBACK TO write")
                    try db.execute("RELEASE write")
                    refused.append((index, error))
                }
            }
            return refused
        }
    }

    private func apply(_ write: StoreWrite, _ db: Connection) throws {
        switch write {
        case .openCall(let record): try open(record, db)
        case .callProgress(let uniqueid, let state, let answer, let agent, let dstchannel, let queue):
            try progress(uniqueid: uniqueid, state: state, answer: answer, agent: agent, dstchannel: dstchannel, queue: queue, db)
        case .finalizeCall(let record): _ = try finalize(record, db)
        case .incomingSMS(let from, let to, let body, let reference, let time):
            _ = try incomingSMS(from: from, to: to, body: body, reference: reference, time: time, db)
        case .outgoingSMS(let to, let from, let body, let reference, let agent, let time):
            _ = try outgoingSMS(to: to, from: from, body: body, reference: reference, agent: agent, time: time, db)
        case .smsStatus(let reference, let status): _ = try smsStatus(reference: reference, to: status, db)
        case .voicemail(let callID, let from, let mailbox, let path, let milliseconds, let time):
            _ = try voicemail(callID: callID, from: from, mailbox: mailbox, recordingPath: path, durationMilliseconds: milliseconds,
                              time: time, db)
        case .runStarted(let run): try record(run, db)
        case .runAlive(let id, let at, let stopped): try noteAlive(run: id, at: at, stopped: stopped, db)
        case .agentState(let state): try save(state, db)
        case .registrations(let agent, let bindings, let run): try save(registrations: bindings, of: agent, run: run ?? "", db)
        case .agentClaim(let agent, let run, let at): try claim(agent: agent, run: run, at: at, db)
        case .agentRelease(let agent, let run): try release(agent: agent, run: run, db)
        case .queueCaller(let caller): try save(caller, db)
        case .queueCallerLeft(let call): try db.run("DELETE FROM queue_callers WHERE call = ?", [.text(call)])
        }
    }
}
