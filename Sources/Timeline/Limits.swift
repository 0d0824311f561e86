/// What the store accepts, so that one bad writer cannot fill the disk or
/// break the pop. docs/timeline.md states the same numbers.
enum Limits {
    static let id = 64
    static let name = 200
    static let tier = 32
    static let identity = 320
    static let subject = 500
    static let summary = 2_000
    static let body = 65_536
    static let agent = 100
    static let ref = 200
    static let status = 32
    static let pathSteps = 1_000
    static let path = 1_024
    /// Characters of an event's body a screen pop carries.
    static let popBody = 280
    /// Open items a screen pop carries.
    static let popOpenItems = 20

    /// One-line text: no longer than `max` characters, no control characters.
    static func check(line value: String, _ field: String, max: Int) throws {
        if value.count > max {
            throw StoreError(.invalidValue, "\(field) is \(value.count) characters long; the limit is \(max)")
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw StoreError(.invalidValue, "\(field) contains control characters")
        }
    }

    /// Multi-line text: line breaks and tabs allowed, other control characters not.
    static func check(text value: String, _ field: String, maxBytes: Int) throws {
        if value.utf8.count > maxBytes {
            throw StoreError(.invalidValue, "\(field) is \(value.utf8.count) bytes long; the limit is \(maxBytes)")
        }
        if value.unicodeScalars.contains(where: { ($0.value < 0x20 && !"\n\r\t".unicodeScalars.contains($0)) || $0.value == 0x7f }) {
            throw StoreError(.invalidValue, "\(field) contains control characters")
        }
    }

    static func check(id value: String, _ field: String) throws {
        guard !value.isEmpty else { throw StoreError(.invalidValue, "\(field) is empty") }
        try check(line: value, field, max: id)
    }

    static func check(_ event: TimelineEvent) throws {
        if let subject = event.subject { try check(line: subject, "subject", max: Limits.subject) }
        if let summary = event.summary { try check(text: summary, "summary", maxBytes: Limits.summary * 4) }
        if let summary = event.summary, summary.count > Limits.summary {
            throw StoreError(.invalidValue, "summary is \(summary.count) characters long; the limit is \(Limits.summary)")
        }
        if let body = event.body { try check(text: body, "body", maxBytes: Limits.body) }
        if let status = event.status { try check(line: status, "status", max: Limits.status) }
        if let agent = event.agent { try check(line: agent, "agent", max: Limits.agent) }
        if let thread = event.threadID { try check(line: thread, "thread id", max: ref) }
        if let reference = event.externalRef { try check(line: reference, "external reference", max: ref) }
        if let address = event.address { try check(line: address, "address", max: identity) }
        try check(id: event.source, "source")
        if let media = event.mediaPath { try check(line: media, "media path", max: path) }
        if let duration = event.mediaDurationMilliseconds, duration < 0 {
            throw StoreError(.invalidValue, "media duration is negative")
        }
    }
}
