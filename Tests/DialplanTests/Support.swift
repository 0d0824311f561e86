@testable import Dialplan
import Foundation
import Testing

/// The package root (the directory holding Package.swift).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return "."
}()

/// Loads text, expecting no errors.
func plan(_ text: String, file: String = "t.conf") throws -> Dialplan {
    let load = DialplanLoader.parse(text, file: file)
    if let plan = load.plan { return plan }
    throw LoadFailure(diagnostics: load.diagnostics)
}

/// Every diagnostic for some text, rendered.
func diagnostics(_ text: String, compatibility: Bool = false) -> [String] {
    DialplanLoader.parse(text, file: "t.conf", compatibility: compatibility).diagnostics.map(\.description)
}

/// Runs a plan against a scripted channel.
func simulate(_ plan: Dialplan, context: String = "default", exten: String, callerID: String = "2015550100",
              script: ScriptedChannel.Script = .init(), time: String? = nil, variables: [String: String] = [:]) async -> (Outcome, ScriptedChannel) {
    let channel = ScriptedChannel(script)
    var start = CallStart(context: context, exten: exten, callerIDNumber: callerID, callerIDName: "Ada", uniqueID: "u-1")
    if let time {
        let date = ISO8601DateFormatter().date(from: time)!
        start.now = { date }
    }
    start.timeZone = TimeZone(identifier: "UTC")!
    start.variables = variables
    let interpreter = Interpreter(plan: plan, channel: channel, globals: Globals(plan), start: start)
    return (await interpreter.run(), channel)
}

/// A script of digits (`,` is a pause), with other fields set by `configure`.
func script(_ digits: String = "", _ configure: (inout ScriptedChannel.Script) -> Void = { _ in }) -> ScriptedChannel.Script {
    var script = ScriptedChannel.Script()
    script.digits = Array(digits)
    configure(&script)
    return script
}

/// A fresh temporary directory; the caller removes it.
func temporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A tiny deterministic generator for the fuzz tests.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(truncatingIfNeeded: (state >> 33) & 0x7fff_ffff)
    }
}
