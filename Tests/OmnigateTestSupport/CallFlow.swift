import Foundation

/// Helpers for end-to-end call tests: the store filled through the CLI, the
/// screen-pop feed and call records read back, SIPp's message log parsed.
public enum CallFlow {
    /// Runs `omnigate ARGS` to completion; throws with its stderr when it fails.
    @discardableResult
    public static func omnigate(_ arguments: [String], directory: String? = nil) async throws -> String {
        let process = try TestProcess(TestPaths.omnigate, arguments, directory: directory)
        let status = try await process.waitForExit(timeout: .seconds(60))
        guard status == 0 else { throw TestProcessError("omnigate \(arguments.joined(separator: " ")) exited \(status):\n\(process.stderr)") }
        return process.stdout
    }

    /// Imports contacts (CSV) and events (JSON lines) into a store file.
    public static func fillStore(_ path: String, contacts: String, events: String = "") async throws {
        let directory = (path as NSString).deletingLastPathComponent
        try contacts.write(toFile: directory + "/contacts.csv", atomically: true, encoding: .utf8)
        try await omnigate(["import", "contacts", directory + "/contacts.csv", "--store", path])
        if !events.isEmpty {
            try events.write(toFile: directory + "/events.jsonl", atomically: true, encoding: .utf8)
            try await omnigate(["import", "events", directory + "/events.jsonl", "--store", path])
        }
    }

    /// Call records as helpdesks get them (`omnigate calls --format jsonl`).
    public static func callRecords(_ store: String) async throws -> [[String: Any]] {
        let output = try await omnigate(["calls", "--store", store, "--format", "jsonl"])
        return output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Lines of the screen-pop feed (`[screenpop] log`), as JSON objects.
    public static func pops(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Messages SIPp received, each with the time it logged for it.
    public static func received(in directory: String) -> [(time: Date, text: String)] {
        let log = SIPp.messages(in: directory)
        var result: [(Date, String)] = []
        let blocks = log.components(separatedBy: "----------------------------------------------- ")
        for block in blocks where block.contains("message received") {
            let stamp = String(block.prefix(26))  // 2026-11-24 10:31:02.359830
            guard let date = parseStamp(stamp) else { continue }
            let body = block.components(separatedBy: "bytes :\n").dropFirst().joined()
            result.append((date, body.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return result
    }

    static func parseStamp(_ text: String) -> Date? {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let micros = Double("0." + parts[1]) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: String(parts[0])).map { $0.addingTimeInterval(micros) }
    }

    /// The value of a header in a SIP message's text.
    public static func header(_ name: String, in message: String) -> String? {
        for line in message.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.lowercased().hasPrefix(name.lowercased() + ":") {
                return String(trimmed.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
