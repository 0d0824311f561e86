import Foundation
import OmnigateTestSupport
import SIPEngine
import Synchronization
import Testing

/// Records every engine event and lets a test wait for one.
final class EventLog: Sendable {
    private let events = Mutex<[SIPEvent]>([])

    func append(_ event: SIPEvent) { events.withLock { $0.append(event) } }

    var all: [SIPEvent] { events.withLock { $0 } }

    /// Waits until an event matches `predicate` and returns it.
    @discardableResult
    func wait<T>(timeout: Duration = .seconds(15), _ what: String = #function,
                 _ predicate: (SIPEvent) -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = all.lazy.compactMap(predicate).first { return match }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestProcessError("no matching event within \(timeout); events: \(all.map { "\($0)" }.joined(separator: "\n"))")
    }
}

/// An engine on loopback with a free port, recording its events; `react`
/// runs on the engine thread for each event (to answer calls, …).
struct EngineHarness {
    let engine: SIPEngine
    let events: EventLog
    let port: Int

    var target: String { "127.0.0.1:\(port)" }

    static func start(accounts: [AccountConfig] = [],
                      react: @escaping @Sendable (SIPEvent, SIPEngine) -> Void = { _, _ in }) throws -> EngineHarness {
        let events = EventLog()
        let box = Mutex<SIPEngine?>(nil)
        var config = EngineConfig()
        let port = Ports.free()
        config.udp = ("127.0.0.1", port)
        config.tcp = ("127.0.0.1", port)
        // Reserved as a block: pjsua takes RTP ports anywhere in its range, and a
        // range wider than the block would take ports handed out to other tests.
        config.rtpPortStart = Ports.free(count: 1000)
        config.rtpPortRange = 1000
        config.userAgent = "Omnigate-test"
        config.accounts = accounts
        // Every source is welcome and trusted here: these tests are about the engine, not the policy.
        config.admit = { _ in .admit }
        config.isTrustedSource = { _ in true }
        let engine = try SIPEngine.start(config) { event in
            events.append(event)
            if let engine = box.withLock({ $0 }) { react(event, engine) }
        }
        box.withLock { $0 = engine }
        return EngineHarness(engine: engine, events: events, port: engine.transports.first { $0.type == "UDP" }!.port)
    }

    /// Answers every inbound call.
    static let answerEverything: @Sendable (SIPEvent, SIPEngine) -> Void = { event, engine in
        if case .incomingCall(let call) = event { engine.post(.answer(call.id)) }
    }
}

extension SIPEvent {
    var incomingCall: IncomingCall? { if case .incomingCall(let call) = self { call } else { nil } }

    func state(of id: CallID) -> CallState? {
        if case .callState(id, let state) = self { state } else { nil }
    }

    var disconnected: (CallID, Int, Bool)? {
        if case .callState(let id, .disconnected(let status, _, let byUs)) = self { (id, status, byUs) } else { nil }
    }
}

/// Writes a 16-bit mono 8 kHz WAV of a sine tone.
func writeToneWAV(path: String, seconds: Double, frequency: Double = 440) throws {
    let samples = Int(8000 * seconds)
    var data = Data()
    func le<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: Array("RIFF".utf8)); le(UInt32(36 + samples * 2))
    data.append(contentsOf: Array("WAVEfmt ".utf8)); le(UInt32(16)); le(UInt16(1)); le(UInt16(1))
    le(UInt32(8000)); le(UInt32(16000)); le(UInt16(2)); le(UInt16(16))
    data.append(contentsOf: Array("data".utf8)); le(UInt32(samples * 2))
    for i in 0..<samples { le(Int16(sin(Double(i) * 2 * .pi * frequency / 8000) * 12000)) }
    try data.write(to: URL(fileURLWithPath: path))
}

/// Reads a 16-bit mono WAV's samples (after its 44-byte header).
func readWAVSamples(path: String) throws -> [Int16] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard data.count > 44 else { return [] }
    return data.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
}
