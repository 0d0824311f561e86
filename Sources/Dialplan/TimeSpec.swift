import Foundation

/// A time condition as Asterisk writes it: `times,weekdays,mdays,months[,timezone]`
/// (also separated by `|`), each `*` or items and ranges joined by `&`:
/// `09:00-17:00,mon-fri,*,*`, `*,sat&sun,*,*`, `*,*,25,dec,Europe/Berlin`.
/// Ranges may wrap (`22:00-06:00`, `fri-mon`) and include both ends, as in
/// Asterisk: `09:00-17:00` holds from 09:00:00 to 17:00:59.
public struct TimeSpec: Sendable, Hashable, CustomStringConvertible {
    /// Minutes of the day, as ranges; both ends are included, as in Asterisk.
    let minutes: [ClosedRange<Int>]?
    let weekdays: Set<Int>?   // 1 = Sunday … 7 = Saturday (Calendar's numbering)
    let monthDays: Set<Int>?
    let months: Set<Int>?     // 1…12
    let timeZone: String?
    public let text: String

    public var description: String { text }

    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Parses a time specification, or explains what is wrong with it.
    public static func parse(_ text: String) -> Result<TimeSpec, PatternError> {
        let separator: Character = text.contains("|") && !text.contains(",") ? "|" : ","
        let fields = text.split(separator: separator, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (4...5).contains(fields.count) else {
            return .failure(PatternError(message: "a time condition has 4 or 5 fields (times,weekdays,mdays,months[,timezone]); got \(fields.count)"))
        }
        do {
            let wrappedMinutes: [ClosedRange<Int>]? = try fields[0] == "*" ? nil : fields[0].split(separator: "&").flatMap { item -> [ClosedRange<Int>] in
                let parts = item.split(separator: "-").map(String.init)
                guard (1...2).contains(parts.count) else { throw PatternError(message: "bad time range '\(item)'; write HH:MM-HH:MM") }
                let start = try minute(parts[0])
                let end = parts.count == 2 ? try minute(parts[1]) : start
                // Both ends count, as in Asterisk: 09:00-17:00 holds until 17:00:59.
                return end >= start ? [start...end] : [start...1439, 0...end]
            }
            let weekdays = try parseSet(fields[1], names: dayNames, range: 1...7, what: "weekday")
            let monthDays = try parseSet(fields[2], names: [], range: 1...31, what: "day of the month")
            let months = try parseSet(fields[3], names: monthNames, range: 1...12, what: "month")
            var zone: String?
            if fields.count == 5 && !fields[4].isEmpty {
                guard TimeZone(identifier: fields[4]) != nil else { throw PatternError(message: "unknown time zone '\(fields[4])'") }
                zone = fields[4]
            }
            return .success(TimeSpec(minutes: wrappedMinutes, weekdays: weekdays, monthDays: monthDays, months: months,
                                     timeZone: zone, text: text))
        } catch let error as PatternError {
            return .failure(error)
        } catch {
            return .failure(PatternError(message: "\(error)"))
        }
    }

    private static func minute(_ text: String) throws -> Int {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1440 else {
            throw PatternError(message: "bad time '\(text)'; write times as HH:MM")
        }
        return min(h * 60 + m, 1439)  // 24:00 is the last minute of the day
    }

    /// A set of numbered values from names or numbers, ranges allowed (wrapping).
    private static func parseSet(_ field: String, names: [String], range: ClosedRange<Int>, what: String) throws -> Set<Int>? {
        if field == "*" || field.isEmpty { return nil }
        func value(_ text: String) throws -> Int {
            if let index = names.firstIndex(of: text.lowercased().prefix(3).description), !names.isEmpty, text.count >= 3 {
                return index + range.lowerBound
            }
            guard let n = Int(text), range.contains(n) else { throw PatternError(message: "bad \(what) '\(text)'") }
            return n
        }
        var result = Set<Int>()
        for item in field.split(separator: "&") {
            let parts = item.split(separator: "-").map(String.init)
            guard (1...2).contains(parts.count) else { throw PatternError(message: "bad \(what) range '\(item)'") }
            let start = try value(parts[0]), end = parts.count == 2 ? try value(parts[1]) : start
            if start <= end {
                for v in start...end { result.insert(v) }
            } else {
                for v in start...range.upperBound { result.insert(v) }
                for v in range.lowerBound...end { result.insert(v) }
            }
        }
        return result
    }

    /// Whether `date` falls in the condition, in its time zone (or `zone`).
    public func matches(_ date: Date, zone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone.flatMap(TimeZone.init(identifier:)) ?? zone
        let c = calendar.dateComponents([.hour, .minute, .weekday, .day, .month], from: date)
        if let minutes {
            let m = c.hour! * 60 + c.minute!
            if !minutes.contains(where: { $0.contains(m) }) { return false }
        }
        if let weekdays, !weekdays.contains(c.weekday!) { return false }
        if let monthDays, !monthDays.contains(c.day!) { return false }
        if let months, !months.contains(c.month!) { return false }
        return true
    }
}
