import Configuration
import Foundation
import Timeline

/// Opens the store named by `--store`, or by `[store]` in `--config` (or the installed
/// configuration, see `Layout`), or the default. `.readOnly` never creates, migrates or writes it.
private func openStore(_ arguments: inout Arguments, mode: StoreAccessMode = .readWrite) throws -> TimelineStore {
    let configPath = try arguments.option("config") ?? Layout.defaultConfigPath
    let storePath = try arguments.option("store")
    var config = GatewayConfig()
    if let configPath { config = try GatewayConfig.load(path: configPath) }
    if let storePath {
        // A postgresql:// URI names a PostgreSQL store; anything else is an SQLite file.
        if storePath.hasPrefix("postgresql://") || storePath.hasPrefix("postgres://") {
            config.store.backend = .postgresql
            config.store.connection = storePath
        } else {
            config.store.backend = .sqlite
            config.store.path = storePath
        }
    }
    let store = try config.store.open(mode: mode)
    for note in store.migrationNotes { writeError("omnigate: store migrated: \(note)") }
    return store
}

private let storeOptions = """
      --config PATH   read [store] (backend, path or connection, default_country) from this configuration
                      file (default: $OMNIGATE_CONFIG, or /etc/omnigate/omnigate.conf when installed)
      --store PATH    the store file, or a postgresql:// URI (overrides the configuration;
                      default var/omnigate.sqlite)
    """

/// `omnigate import contacts|events FILE`.
enum ImportCommand: Command {
    static let name = "import"
    static let summary = "import contacts (CSV) or events (JSON Lines) into the store, all or nothing"
    static let help = """
    Usage: omnigate import contacts FILE.csv [--config PATH] [--store PATH]
           omnigate import events FILE.jsonl [--config PATH] [--store PATH]

    Imports in one transaction: a bad line stops the import with file:line and
    what is wrong, and nothing of the file is written.

    contacts: CSV with a header row; columns \(TimelineStore.contactColumns.joined(separator: ", "))
              (id and name required; several phones, emails, … in one cell separated by ';').
    events:   one JSON object per line; keys source (required), channel, direction,
              time (ISO 8601), contact (or contact_id), address, subject, summary,
              body, status, agent, thread_id, external_ref, media_path,
              media_duration_ms (an id is ignored). A line may also be a whole
              `omnigate lookup --format json` document: its recent events and open
              items are imported. Every bad line is reported. See docs/timeline.md.

    Options:
    \(storeOptions)
      --help          show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        guard let what = arguments.subcommand(), ["contacts", "events"].contains(what) else {
            throw UsageError("say what to import: contacts or events")
        }
        let store = try openStore(&arguments)
        let files = arguments.positionals()
        try arguments.finish()
        guard files.count == 1, let file = files.first else { throw UsageError("give one file to import") }
        guard let data = FileManager.default.contents(atPath: file) else { writeError("omnigate import: cannot read \(file)"); return 1 }
        let start = ContinuousClock.now
        do {
            var summary: String
            if what == "contacts" {
                summary = "imported \(try store.importContacts(csv: data, file: file)) contacts from \(file)"
            } else {
                let events = try store.importEvents(jsonl: data, file: file)
                summary = "imported \(events.added) events from \(file)"
                if events.contactsAdded > 0 { summary += " and \(events.contactsAdded) contact\(events.contactsAdded == 1 ? "" : "s") of lookup documents" }
                if events.alreadyStored > 0 { summary += " (\(events.alreadyStored) already in the store with the same source and external_ref: left as they were)" }
            }
            let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
            writeError(summary + " in \(String(format: "%.2f", seconds)) s")
            return 0
        } catch let error as ImportError {
            writeError("\(error)\nnothing was imported")
            return 1
        } catch let failure as ImportFailure {
            writeError("\(failure)\nnothing was imported (\(failure.problems.count) bad line\(failure.problems.count == 1 ? "" : "s"))")
            return 1
        }
    }
}

/// `omnigate calls`: call records for helpdesks.
enum CallsCommand: Command {
    static let name = "calls"
    static let summary = "export call records (CDR) as JSON Lines or CSV"
    static let help = """
    Usage: omnigate calls [--since TIME] [--format jsonl|csv] [--config PATH] [--store PATH]

    Prints ended call records, oldest first: Asterisk's CDR fields (clid, src,
    dst, dcontext, channel, dstchannel, lastapp, lastdata, start, answer, end,
    duration, billsec, disposition, uniqueid, userfield) and contact, agent,
    queue, wait, SIP statuses, hangup side, dialplan path, recording, trunk,
    whether a restart interrupted it, and which fields were cut to fit (truncated).
    The store is only read: a missing file is an error naming it, never created.
    In CSV a cell beginning with =, +, -, @, a tab or a CR gets a leading ' so a
    spreadsheet shows it as text (OWASP): +12025550142 exports as '+12025550142.
    JSON Lines keep every value exact.

    Options:
      --since TIME    only calls that started at or after TIME (ISO 8601, such as 2026-11-24T00:00:00Z,
                      or a date, 2026-11-24, meaning its midnight UTC)
      --format F      jsonl (default) or csv
    \(storeOptions)
      --help          show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let sinceText = try arguments.option("since")
        let format = try arguments.option("format") ?? "jsonl"
        let store = try openStore(&arguments, mode: .readOnly)
        try arguments.finish()
        guard ["jsonl", "csv"].contains(format) else { throw UsageError("--format takes jsonl or csv") }
        var since: Date?
        if let sinceText {
            guard let date = Timestamp.parse(sinceText) else {
                throw UsageError("--since takes an ISO 8601 time such as 2026-11-24T00:00:00Z or a date such as 2026-11-24; got '\(sinceText)'")
            }
            since = date
        }
        let out = try store.exportCallRecords(since: since, format: format == "csv" ? .csv : .jsonl)
        FileHandle.standardOutput.write(out)
        return 0
    }
}

/// `omnigate lookup`: the screen pop for a number, as an agent would get it.
enum LookupCommand: Command {
    static let name = "lookup"
    static let summary = "show the screen pop for a number, URI, email or chat handle"
    static let help = """
    Usage: omnigate lookup NUMBER|URI|EMAIL [--format text|json] [--limit N] [--config PATH] [--store PATH]

    Looks the caller up as the gateway does before an agent's phone rings: the
    contact and identities, the latest events on every channel, open items and a
    summary. An unknown number shows its own history. The store is only read: a
    missing file is an error naming it, never created.

    Options:
      --format F      text (default) or json (the API's lookup document, snake_case;
                      `omnigate import events FILE` takes it back: contact and events)
      --limit N       latest events to show (default 10)
    \(storeOptions)
      --help          show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let format = try arguments.option("format") ?? "text"
        let limit = try arguments.intOption("limit", default: 10, range: 1...1000)
        let store = try openStore(&arguments, mode: .readOnly)
        let queries = arguments.positionals()
        try arguments.finish()
        guard queries.count == 1 else { throw UsageError("give one number, URI, email or chat handle") }
        guard ["text", "json"].contains(format) else { throw UsageError("--format takes text or json") }
        let pop = try store.screenPop(for: queries[0], limit: limit)
        print(format == "json" ? pop.json : PopText.render(pop))
        return 0
    }
}

/// `omnigate renormalize`: every stored phone number in today's normal form.
enum RenormalizeCommand: Command {
    static let name = "renormalize"
    static let summary = "bring every stored phone number to its normal form (after changing default_country)"
    static let help = """
    Usage: omnigate renormalize [--dry-run] [--config PATH] [--store PATH]

    Brings contacts' phone numbers and events' addresses that are phone numbers
    to E.164 as the store's rules give them now (libphonenumber's numbering
    plans, [store] default_country for numbers written without a country code),
    in one transaction. A number whose normal form another contact has, or that
    is no valid number, is kept as it was. Prints every change as CSV (table,
    old, new, outcome) and a summary. The store does this once by itself when it
    is first opened by an Omnigate with libphonenumber (schema 7).

    Options:
      --dry-run       report what would change, change nothing
    \(storeOptions)
      --help          show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let dryRun = arguments.flag("dry-run")
        let store = try openStore(&arguments)
        try arguments.finish()
        let report = try store.renormalizePhoneNumbers(dryRun: dryRun)
        print(report.csv, terminator: "")
        writeError("omnigate renormalize: \(report.summary)" + (dryRun ? " (dry run: nothing was changed)" : ""))
        return 0
    }
}

/// `omnigate demo-data`: a store full of realistic synthetic customers.
enum DemoDataCommand: Command {
    static let name = "demo-data"
    static let summary = "fill a store with synthetic contacts and events for demos and benchmarks"
    static let help = """
    Usage: omnigate demo-data [--contacts N] [--events M] [--config PATH] [--store PATH]

    Adds N contacts (ids demo-0 …, each with a phone, an email and a chat handle)
    and M events spread over them across chat, email, voice, SMS and notes in the
    last 180 days. The same N and M always give the same data.

    Options:
      --contacts N    contacts to add (default 1000)
      --events M      events to add (default 10000)
    \(storeOptions)
      --help          show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let contacts = try arguments.intOption("contacts", default: 1000, range: 0...10_000_000)
        let events = try arguments.intOption("events", default: 10_000, range: 0...100_000_000)
        let store = try openStore(&arguments)
        try arguments.finish()
        let start = ContinuousClock.now
        var lastReport = ContinuousClock.now
        try store.fillDemoData(contacts: contacts, events: events) { what, done, total in
            if done == total || ContinuousClock.now - lastReport > .seconds(1) {
                lastReport = .now
                writeError("demo-data: \(what) \(done)/\(total)")
            }
        }
        writeError("demo-data: \(contacts) contacts and \(events) events in \(ContinuousClock.now - start) into \(store.path)")
        return 0
    }
}

/// The screen pop as text for a terminal.
enum PopText {
    static func render(_ pop: TimelinePop) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.timeZone = TimeZone(identifier: "UTC")
        var lines: [String] = []
        if let contact = pop.contact {
            lines.append("\(contact.name) (\(contact.tier))\(contact.company.map { ", \($0)" } ?? "")  [\(contact.id)]")
        } else {
            lines.append("Unknown caller \(pop.identities.first?.value ?? pop.query): no contact owns this number")
        }
        lines.append("identities: " + (pop.identities.isEmpty ? "none" : pop.identities.map(\.description).joined(separator: ", ")))
        let counts = pop.summary.interactions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("interactions: " + (counts.isEmpty ? "none" : counts))
        if let last = pop.summary.lastContact {
            lines.append("last contact: \(formatter.string(from: last)) UTC by \(pop.summary.lastChannel ?? "?")"
                         + (pop.summary.lastAgent.map { ", last agent \($0)" } ?? ""))
        }
        if !pop.openItems.isEmpty {
            lines.append("open items:")
            for item in pop.openItems { lines.append("  \(formatter.string(from: item.time))  \(item.channel.rawValue)  \(item.subject ?? item.summary ?? "")") }
        }
        lines.append("recent:")
        if pop.recent.isEmpty { lines.append("  nothing yet") }
        for event in pop.recent {
            lines.append("  \(formatter.string(from: event.time))  \(event.channel.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) "
                         + "\(event.direction.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  "
                         + "\(event.subject ?? event.summary ?? "")\(event.agent.map { "  (\($0))" } ?? "")\(event.status.map { " [\($0)]" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}
