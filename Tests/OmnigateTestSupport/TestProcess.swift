// Test support: real processes, bounded in time, cleaned up by PID.

import Foundation
import Synchronization

/// A child process whose stdout and stderr are collected line by line.
///
/// Always bounded: `waitForLine` and `waitForExit` take timeouts, and
/// `deinit` kills the process (SIGKILL by PID) if the test did not.
public final class TestProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is immutable after init; output is guarded by `state`.
    private let process = Process()
    private let state = Output()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    public let executable: String
    public let arguments: [String]

    private struct State {
        var stdout = ""
        var stderr = ""
        /// Pipes read to their end (0, 1 or 2).
        var closed = 0
    }

    private final class Output: Sendable {
        let lock = Mutex(State())
        func withLock<R>(_ body: (inout State) -> R) -> R { lock.withLock { body(&$0) } }
    }

    /// Starts `executable` with `arguments`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                directory: String? = nil) throws {
        self.executable = executable
        self.arguments = arguments
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        // Each pipe is drained by a thread of its own: dispatch's shared threads
        // can all be busy with other tests, and then output would arrive late.
        for (pipe, isError) in [(stdoutPipe, false), (stderrPipe, true)] {
            let handle = pipe.fileHandleForReading  // kept alive by the thread until EOF
            let state = self.state
            let reader = Thread {
                let fd = handle.fileDescriptor
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(fd, &buffer, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { break }
                    let text = String(decoding: buffer[0..<n], as: UTF8.self)
                    state.withLock { isError ? ($0.stderr += text) : ($0.stdout += text) }
                }
                state.withLock { $0.closed += 1 }
            }
            reader.start()
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { state.withLock { $0.stdout } }
    public var stderr: String { state.withLock { $0.stderr } }
    /// Running, as the kernel sees it: Foundation's Process can miss a child's
    /// exit on Linux (seen once as a zombie it never reaped, and a test that
    /// waited for it forever), so a zombie counts as ended.
    public var isRunning: Bool { process.isRunning && zombieStatus == nil }

    /// The exit status of a zombie child (`/proc/PID/stat`, field 52, as
    /// waitpid(2) reports it), or nil while it runs or once it is reaped.
    private var zombieStatus: Int32? {
        let pid = process.processIdentifier
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.first == "Z", fields.count >= 50, let raw = Int32(fields[49]) else { return nil }
        return raw
    }

    /// How the process ended: Foundation's status, or a zombie's decoded as Foundation would
    /// (the exit code, or the signal number).
    private var endStatus: Int32 {
        if !process.isRunning { return process.terminationStatus }
        guard let raw = zombieStatus else { return -1 }
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    /// Waits until a stderr (or stdout) line contains `text` (the `occurrence`th
    /// such line, counting from 1); returns that line.
    @discardableResult
    public func waitForLine(containing text: String, occurrence: Int = 1, timeout: Duration = .seconds(10)) async throws -> String {
        func find(_ output: String) -> String? {
            let lines = output.split(separator: "\n").filter { $0.contains(text) }
            return lines.count >= occurrence ? String(lines[occurrence - 1]) : nil
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            // Checked once more after the deadline: on a busy machine this task
            // may wake late, and a line that did arrive in time still counts.
            let pastDeadline = ContinuousClock.now >= deadline
            if let line = find(state.withLock({ $0.stderr + "\n" + $0.stdout })) { return line }
            if pastDeadline { break }
            if !isRunning {
                let drained = ContinuousClock.now + .seconds(5)  // let the pipes drain to their end
                while state.withLock({ $0.closed }) < 2 && ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(5)) }
                let final = state.withLock { $0.stderr + "\n" + $0.stdout }
                if let line = find(final) { return line }
                throw TestProcessError("\(name) exited (status \(endStatus)) before printing '\(text)':\n\(final)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestProcessError("\(name) did not print '\(text)' within \(timeout):\n\(stderr)\n\(stdout)")
    }

    /// Waits for the process to exit and returns its status; kills it on timeout.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline {
                kill()
                throw TestProcessError("\(name) did not exit within \(timeout); killed.\n\(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Both pipes read to their end (a child of the process may hold them a little longer: bounded).
        let drained = ContinuousClock.now + .seconds(5)
        while state.withLock({ $0.closed }) < 2 && ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(5))
        }
        return endStatus
    }

    /// The same wait from synchronous code (a short tool run to its end).
    @discardableResult
    public func waitForExitBlocking(timeout: Duration = .seconds(30)) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { kill(); return -1 }
            usleep(5_000)
        }
        let drained = ContinuousClock.now + .seconds(5)
        while state.withLock({ $0.closed }) < 2 && ContinuousClock.now < drained { usleep(2_000) }
        return endStatus
    }

    /// Sends a signal by PID.
    public func signal(_ number: Int32) {
        if isRunning { Foundation.kill(process.processIdentifier, number) }
    }

    /// Kills the process (SIGKILL) and waits, boundedly, until it has ended
    /// (never Foundation's waitUntilExit, which spins forever on an exit it missed).
    public func kill() {
        guard isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(10)
        while isRunning && ContinuousClock.now < deadline { usleep(5_000) }
    }

    private var name: String { (executable as NSString).lastPathComponent }

    deinit { kill() }
}

public struct TestProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
