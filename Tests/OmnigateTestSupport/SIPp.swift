import Foundation

/// Runs SIPp (Debian's `sip-tester`) as a real SIP peer on loopback.
///
/// Every run gets its own directory (SIPp writes its logs into the working
/// directory), its own port, a call limit and a time limit.
public struct SIPp {
    /// What a finished SIPp run reported.
    public struct Result: Sendable {
        public var exitStatus: Int32
        /// The last line of the `-trace_stat` file, by column name.
        public var stats: [String: String]
        public var output: String
        public var errors: String
        public var directory: String

        public var successful: Int { Int(stats["SuccessfulCall(C)"] ?? "") ?? 0 }
        public var failed: Int { Int(stats["FailedCall(C)"] ?? "") ?? 0 }
        public var retransmissions: Int { Int(stats["Retransmissions(C)"] ?? "") ?? 0 }

        /// Everything useful when a test fails.
        public var summary: String {
            "sipp exit \(exitStatus), successful \(successful), failed \(failed)\n\(output.suffix(2000))\n\(errors.suffix(3000))"
        }
    }

    /// Starts SIPp. `scenario` is a file under Tests/Scenarios, or a built-in
    /// name prefixed with `builtin:` (`builtin:uac`). `target` is `host:port`
    /// for a UAC; nil for a UAS.
    public static func start(_ scenario: String, target: String?, port: Int, arguments: [String] = [],
                             timeout: Duration = .seconds(60)) throws -> (TestProcess, String) {
        let directory = try TestPaths.temporaryDirectory("sipp")
        var args: [String] = []
        if scenario.hasPrefix("builtin:") {
            args += ["-sn", String(scenario.dropFirst("builtin:".count))]
        } else {
            args += ["-sf", TestPaths.scenario(scenario)]
        }
        if let target { args.append(target) }
        args += ["-i", "127.0.0.1", "-p", String(port), "-nostdin",
                 "-timeout", "\(timeout.components.seconds)s", "-timeout_error",
                 "-trace_stat", "-stf", directory + "/stat.csv", "-fd", "1",
                 "-trace_err", "-error_file", directory + "/errors.log",
                 "-trace_msg", "-message_file", directory + "/messages.log"]
        args += arguments
        let process = try TestProcess("/usr/bin/sipp", args, directory: directory)
        return (process, directory)
    }

    /// Runs SIPp to completion and returns what it reported.
    public static func run(_ scenario: String, target: String?, port: Int, arguments: [String] = [],
                           timeout: Duration = .seconds(60)) async throws -> Result {
        let (process, directory) = try start(scenario, target: target, port: port, arguments: arguments, timeout: timeout)
        let status = try await process.waitForExit(timeout: timeout + .seconds(10))
        return result(of: process, status: status, directory: directory)
    }

    /// Waits for a SIPp started with `start` and reads its results.
    public static func finish(_ process: TestProcess, directory: String, timeout: Duration = .seconds(60)) async throws -> Result {
        let status = try await process.waitForExit(timeout: timeout)
        return result(of: process, status: status, directory: directory)
    }

    private static func result(of process: TestProcess, status: Int32, directory: String) -> Result {
        let stats = (try? String(contentsOfFile: directory + "/stat.csv", encoding: .utf8)).map(parseStats) ?? [:]
        let errors = (try? String(contentsOfFile: directory + "/errors.log", encoding: .utf8)) ?? ""
        return Result(exitStatus: status, stats: stats, output: process.stdout + process.stderr, errors: errors,
                      directory: directory)
    }

    /// The SIP messages SIPp sent and received (its `-trace_msg` log).
    public static func messages(in directory: String) -> String {
        (try? String(contentsOfFile: directory + "/messages.log", encoding: .utf8)) ?? ""
    }

    static func parseStats(_ text: String) -> [String: String] {
        let lines = text.split(separator: "\n").filter { !$0.isEmpty }
        guard let header = lines.first, let last = lines.last, lines.count > 1 else { return [:] }
        let names = header.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        let values = last.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        var result: [String: String] = [:]
        for (name, value) in zip(names, values) { result[name] = value }
        return result
    }
}
