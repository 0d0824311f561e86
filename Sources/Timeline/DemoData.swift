import Foundation

/// A small, fast, seeded random generator, so demo stores are the same every time.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension TimelineStore {
    /// Fills the store with realistic synthetic contacts (names, tiers, phone,
    /// email and chat identities) and events across all channels over the last
    /// 180 days, in batches. `progress` is called after each batch with (done, total).
    /// Contact ids are `demo-N`; phone numbers are `+1 2NN 555 NNNN` style NANP numbers.
    public func fillDemoData(contacts: Int, events: Int, seed: UInt64 = 42,
                             progress: (_ what: String, _ done: Int, _ total: Int) -> Void = { _, _, _ in }) throws {
        var random = SplitMix64(state: seed)
        let first = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Radia", "Ken", "Margaret", "Linus",
                     "Hedy", "Tim", "Katherine", "Vint", "Annie", "Dennis", "Mary", "John", "Sophie"]
        let last = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Perlman", "Thompson", "Hamilton",
                    "Torvalds", "Lamarr", "Berners-Lee", "Johnson", "Cerf", "Easley", "Ritchie", "Keller", "Backus", "Wilson"]
        let agents = ["alice", "bob", "carol", "dave", "erin", "frank"]
        let subjects: [EventChannel: [String]] = [
            .chat: ["Where is my order?", "Refund request", "Password reset", "Change delivery address", "Invoice question"],
            .email: ["Re: Invoice 2026-1142", "Damaged item", "Subscription renewal", "Warranty claim", "Feedback on support"],
            .voice: ["Call about order status", "Billing call", "Technical support call"],
            .sms: ["Delivery update", "Appointment reminder", "Verification code question"],
            .note: ["Customer prefers email", "Escalated to billing", "VIP: call back within 1 hour"],
            .social: ["Mention on social media"],
        ]
        let batch = 10_000
        var done = 0
        while done < contacts {
            let count = min(batch, contacts - done)
            try write { db in
                for i in done..<(done + count) {
                    let name = "\(first[i % first.count]) \(last[(i / first.count) % last.count])"
                    let roll = Int.random(in: 0..<100, using: &random)
                    let tier = roll < 5 ? "vip" : roll < 20 ? "gold" : "standard"
                    let now = Date().milliseconds
                    try db.run("INSERT INTO contacts (id, name, tier, company, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)",
                               [.text("demo-\(i)"), .text(name), .text(tier), .int(now), .int(now)])
                    for identity in Self.demoIdentities(i, name: name) {
                        try db.run("INSERT INTO identities (kind, value, contact_id) VALUES (?, ?, ?)",
                                   [.text(identity.kind.rawValue), .text(identity.value), .text("demo-\(i)")])
                    }
                }
            }
            done += count
            progress("contacts", done, contacts)
        }
        done = 0
        let now = Date().milliseconds
        let channels: [(EventChannel, Int)] = [(.chat, 35), (.email, 30), (.voice, 20), (.sms, 10), (.note, 4), (.social, 1)]
        while done < events {
            let count = min(batch, events - done)
            try write { db in
                for _ in 0..<count {
                    let contact = contacts > 0 ? Int.random(in: 0..<contacts, using: &random) : 0
                    var roll = Int.random(in: 0..<100, using: &random)
                    var channel = EventChannel.chat
                    for (candidate, weight) in channels {
                        if roll < weight { channel = candidate; break }
                        roll -= weight
                    }
                    let time = now - Int64.random(in: 0..<(180 * 86_400_000), using: &random)
                    let options = subjects[channel]!
                    let subject = options[Int.random(in: 0..<options.count, using: &random)]
                    let open = Int.random(in: 0..<100, using: &random) < 8
                    let direction = channel == .note ? "internal" : (Int.random(in: 0..<3, using: &random) == 0 ? "outbound" : "inbound")
                    let identities = Self.demoIdentities(contact, name: "")
                    var address = channel == .email ? identities[1].value : channel == .chat ? identities[2].value : identities[0].value
                    // Some calls and texts come from numbers no contact owns (UK drama-range mobiles).
                    let orphan = (channel == .voice || channel == .sms) && Int.random(in: 0..<100, using: &random) < 5
                    if orphan { address = DemoData.unknownE164(Int.random(in: 0..<1000, using: &random)) }
                    try db.run("""
                        INSERT INTO events (contact_id, address, channel, direction, occurred_at, subject, summary, status, agent,
                                            thread_id, source)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'demo')
                        """, [contacts > 0 && !orphan ? .text("demo-\(contact)") : .null, .text(address), .text(channel.rawValue),
                              .text(direction), .int(time), .text(subject), .text("\(subject) (synthetic)"),
                              .text(open ? "open" : "closed"), .text(agents[Int.random(in: 0..<agents.count, using: &random)]),
                              .text("thread-\(contact)-\(Int.random(in: 0..<5, using: &random))")])
                }
            }
            done += count
            progress("events", done, events)
        }
        try writerAnalyze()
    }

    /// Gives one contact (created with `phone`) a history of `events` interactions over the
    /// last 180 days, on every channel, with agents, notes and open items like the demo data;
    /// for measuring how the pop's cost depends on the length of a history.
    public func fillHistory(contactID: String, phone: String, events: Int, seed: UInt64 = 7,
                            progress: (Int, Int) -> Void = { _, _ in }) throws {
        var random = SplitMix64(state: seed)
        try addContact(Contact(id: contactID, name: "History \(events)", tier: "gold", identities: [Identity(kind: .phone, value: phone)]))
        let address = try normalizer.normalize(.phone, phone).value
        let channels: [EventChannel] = [.chat, .email, .voice, .sms, .note, .social]
        let now = Date().milliseconds
        var done = 0
        while done < events {
            let count = min(10_000, events - done)
            try write { db in
                for _ in 0..<count {
                    let channel = channels[Int.random(in: 0..<channels.count, using: &random)]
                    let time = now - Int64.random(in: 0..<(180 * 86_400_000), using: &random)
                    let open = Int.random(in: 0..<100, using: &random) < 8
                    try db.run("""
                        INSERT INTO events (contact_id, address, channel, direction, occurred_at, subject, summary, status, agent, source)
                        VALUES (?, ?, ?, 'inbound', ?, 'History', 'A past interaction (synthetic)', ?, ?, 'demo')
                        """, [.text(contactID), .text(address), .text(channel.rawValue), .int(time), .text(open ? "open" : "closed"),
                              Int.random(in: 0..<4, using: &random) == 0 ? .text("agent\(Int.random(in: 0..<40, using: &random))") : .null])
                }
            }
            done += count
            progress(done, events)
        }
        try writerAnalyze()
    }

    /// Phone, email and chat identities of demo contact `i` (phone first).
    static func demoIdentities(_ i: Int, name: String) -> [Identity] {
        [Identity(kind: .phone, value: DemoData.e164(of: i)), Identity(kind: .email, value: "customer\(i)@example.com"),
         Identity(kind: .chat, value: "chat-\(i)")]
    }

    /// Refreshes the query planner's statistics after a bulk load.
    func writerAnalyze() throws {
        try write { db in try db.execute("ANALYZE") }
    }
}

/// The numbers demo data gives its contacts, so benchmarks and demos can call them.
public enum DemoData {
    /// Demo contact `i`'s phone number as a US trunk would present it: `(201) 555-0042`.
    /// NANP numbers with exchange 555, unique for `i` below 7,990,000.
    public static func phone(of i: Int) -> String {
        let (area, line) = parts(i)
        return "(\(area)) 555-\(line)"
    }

    /// The same number in E.164: `+12015550042`.
    public static func e164(of i: Int) -> String {
        let (area, line) = parts(i)
        return "+1\(area)555\(line)"
    }

    /// Number `i` (0–999) of the numbers demo calls and texts come from that no contact owns:
    /// `+447911123000` to `+447911123999`, UK mobile numbers (demo contacts have US ones).
    /// Not Ofcom's range for fiction, 07700 900xxx: libphonenumber takes no number there for valid.
    public static func unknownE164(_ i: Int) -> String {
        let digits = String(i % 1000)
        return "+447911123" + String(repeating: "0", count: 3 - digits.count) + digits
    }

    private static func parts(_ i: Int) -> (Int, String) {
        let area = 201 + (i / 10_000) % 799
        let line = String(i % 10_000)
        return (area, String(repeating: "0", count: 4 - line.count) + line)
    }
}
