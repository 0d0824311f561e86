import Foundation

/// A small demo data set whose journey figures are computed by hand below
/// (docs/console.md shows the same sums): the store's journey report and the
/// supervisor's view are both held to them.
///
/// Period 2026-11-01 to 2026-12-01, a repeat window of 7 days. Journeys (a
/// customer's contacts each within 7 days of the one before, counted when the
/// first falls in the period):
///
/// | customer | contacts | journeys |
/// |---|---|---|
/// | c-ada | voice 11-02, email 11-04, chat 11-20 | J1 voice→email (repeat, 1 switch); J2 chat |
/// | c-bob | sms 11-03, sms 11-05, voice 11-06 | J3 sms→sms→voice (repeat, 1 switch) |
/// | c-cy | email 11-10 (an email out 11-11 and a note: not contacts) | J4 email |
/// | +12025550199, no contact | voice 11-12, voice 11-25 | J5 voice; J6 voice |
/// | c-dee | chat 10-30, chat 11-02, chat 11-15 | (10-30's journey began before the period); J7 chat |
/// | c-eve | voice 11-28, sms 12-02 (after the period, inside the window) | J8 voice→sms (repeat, 1 switch) |
///
/// 8 journeys, 12 contacts; resolved at first contact: J2, J4, J5, J6, J7 = 5 of 8 = 62.5 %;
/// repeat contacts 3 of 8 = 37.5 %; by first channel: voice 2 of 4 (50 %), sms 1 of 1 (100 %),
/// email 0 of 1, chat 0 of 2; channel switches 3, 0.375 per journey.
public enum JourneyDemo {
    public static let contacts = """
        id,name,tier,company,phone,email
        c-ada,Ada Lovelace,gold,Analytical Engines Ltd,+12025550142,ada@example.com
        c-bob,Bob Byron,standard,,+12025550143,
        c-cy,Cy Young,standard,,+12025550144,cy@example.com
        c-dee,Dee Babbage,silver,,+12025550145,
        c-eve,Eve Somerville,standard,,+12025550146,

        """

    public static let events: [[String: String]] = [
        ["channel": "voice", "direction": "in", "time": "2026-11-02T10:00:00Z", "address": "+12025550142", "subject": "Invoice question"],
        ["channel": "email", "direction": "in", "time": "2026-11-04T09:00:00Z", "address": "ada@example.com", "subject": "Invoice again"],
        ["channel": "chat", "direction": "in", "time": "2026-11-20T15:00:00Z", "address": "+12025550142", "subject": "New order"],
        ["channel": "sms", "direction": "in", "time": "2026-11-03T08:00:00Z", "address": "+12025550143", "subject": "Delivery?"],
        ["channel": "sms", "direction": "in", "time": "2026-11-05T08:00:00Z", "address": "+12025550143", "subject": "Delivery??"],
        ["channel": "voice", "direction": "in", "time": "2026-11-06T08:00:00Z", "address": "+12025550143", "subject": "Where is it"],
        ["channel": "email", "direction": "in", "time": "2026-11-10T12:00:00Z", "address": "cy@example.com", "subject": "Password reset"],
        ["channel": "email", "direction": "out", "time": "2026-11-11T12:00:00Z", "address": "cy@example.com", "subject": "Re: Password reset"],
        ["channel": "note", "direction": "internal", "time": "2026-11-11T12:05:00Z", "address": "cy@example.com", "subject": "Reset done"],
        ["channel": "voice", "direction": "in", "time": "2026-11-12T09:00:00Z", "address": "+12025550199", "subject": "Unknown caller"],
        ["channel": "voice", "direction": "in", "time": "2026-11-25T09:00:00Z", "address": "+12025550199", "subject": "Unknown caller again"],
        ["channel": "chat", "direction": "in", "time": "2026-10-30T09:00:00Z", "address": "+12025550145", "subject": "Before the period"],
        ["channel": "chat", "direction": "in", "time": "2026-11-02T09:00:00Z", "address": "+12025550145", "subject": "Follow-on"],
        ["channel": "chat", "direction": "in", "time": "2026-11-15T09:00:00Z", "address": "+12025550145", "subject": "Something else"],
        ["channel": "voice", "direction": "in", "time": "2026-11-28T09:00:00Z", "address": "+12025550146", "subject": "Broken part"],
        ["channel": "sms", "direction": "in", "time": "2026-12-02T09:00:00Z", "address": "+12025550146", "subject": "Still broken"],
    ]

    /// The events as JSON lines for `omnigate import events`.
    public static var eventLines: String {
        events.enumerated().map { index, event in
            var item: [String: String] = event
            item["source"] = "demo"
            item["external_ref"] = "demo-\(index + 1)"
            let data = try! JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    public static let from = "2026-11-01"
    public static let to = "2026-12-01"
    public static let journeys = 8
    public static let contactCount = 12
    public static let resolved = 5
    public static let firstContactResolution = 0.625
    public static let repeatContactRate = 0.375
    /// First channel → (journeys, repeated).
    public static let byFirstChannel: [String: (journeys: Int, repeated: Int)] = [
        "voice": (4, 2), "sms": (1, 1), "email": (1, 0), "chat": (2, 0),
    ]
    public static let channelSwitches = 3
}
