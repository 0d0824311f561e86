/// What the gateway's configuration defines, for `check`: a `Queue()`, a
/// `Dial(PJSIP/…)` or a `MessageSend()` naming a queue, agent or trunk it does
/// not have is an error (a warning in Asterisk mode, where such names are
/// resolved when a call gets there), with a suggestion when one is near.
///
/// The module does not read the configuration; the command that loads it hands
/// these names over.
public struct ConfigurationNames: Sendable, Equatable {
    /// Where the names come from, for messages (`Config/omnigate.conf`).
    public var source: String
    /// Queues, with their members (agents) in order.
    public var queues: [String: [String]]
    public var agents: Set<String>
    public var trunks: Set<String>

    public init(source: String, queues: [String: [String]], agents: Set<String>, trunks: Set<String>) {
        self.source = source
        self.queues = queues
        self.agents = agents
        self.trunks = trunks
    }
}

extension Checker {
    /// Checks the queue, agent and trunk names a step writes out (computed ones are left to the call).
    mutating func checkConfiguration(_ priority: Priority) {
        guard let names, let app = priority.app,
              [.queue, .dial, .messageSend, .addQueueMember, .removeQueueMember, .pauseQueueMember, .unpauseQueueMember].contains(app) else { return }
        // The first argument, as written, and where it starts.
        let raw = priority.arguments
        let first = Parser.splitTopLevel(raw, maxSplits: 1)[0]
        switch app {
        case .queue, .addQueueMember, .removeQueueMember, .pauseQueueMember, .unpauseQueueMember:
            // An empty queue is every queue of the agent, for the queue-member applications.
            let name = first.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains("$"), names.queues[name] == nil else { return }
            report(priority, offset: leadingBlanks(first), "\(app.rawValue) '\(name)' is not a [queue] in \(names.source)",
                   near: name, in: Set(names.queues.keys))
        case .dial:
            var offset = 0
            for target in first.split(separator: "&", omittingEmptySubsequences: false).map(String.init) {
                defer { offset += target.utf8.count + 1 }
                checkDialTarget(target, at: offset, priority, names)
            }
        default:
            checkMessageDestination(first, priority, names)
        }
    }

    /// `PJSIP/agent`, `PJSIP/number@trunk` (also `SIP/`); a `sip:` URI is not checked.
    private mutating func checkDialTarget(_ written: String, at offset: Int, _ priority: Priority, _ names: ConfigurationNames) {
        let target = written.trimmingCharacters(in: .whitespaces)
        let start = offset + leadingBlanks(written)
        guard let slash = target.firstIndex(of: "/") else { return }
        let tech = target[..<slash].uppercased()
        guard tech == "PJSIP" || tech == "SIP" else { return }
        let resource = String(target[target.index(after: slash)...])
        guard !resource.lowercased().hasPrefix("sip:"), !resource.lowercased().hasPrefix("sips:") else { return }
        if let at = resource.lastIndex(of: "@") {
            let trunk = String(resource[resource.index(after: at)...])
            guard !trunk.isEmpty, !trunk.contains("$"), !trunk.contains("}"), !names.trunks.contains(trunk) else { return }
            let trunkOffset = start + target[...slash].utf8.count + resource[...at].utf8.count
            report(priority, offset: trunkOffset, "Dial to '\(target)': '\(trunk)' is not a [trunk] in \(names.source)",
                   near: trunk, in: names.trunks)
        } else {
            guard !resource.isEmpty, !resource.contains("$"), !names.agents.contains(resource) else { return }
            report(priority, offset: start, "Dial to '\(target)': '\(resource)' is not an [agent] in \(names.source)",
                   near: resource, in: names.agents)
        }
    }

    /// `pjsip:NAME`, `NAME`, `pjsip:PJSIP/number@NAME`, `number@NAME`: NAME is an agent or a
    /// trunk, as Asterisk's endpoint names are. Numbers, hosts and `sip:` URIs are not checked.
    private mutating func checkMessageDestination(_ written: String, _ priority: Priority, _ names: ConfigurationNames) {
        var destination = written.trimmingCharacters(in: .whitespaces)
        let start = leadingBlanks(written)
        guard !destination.contains("$") else { return }
        if destination.lowercased().hasPrefix("pjsip:") { destination.removeFirst(6) }
        if destination.uppercased().hasPrefix("PJSIP/") { destination.removeFirst(6) }
        guard !destination.lowercased().hasPrefix("sip:"), !destination.lowercased().hasPrefix("sips:"), !destination.isEmpty else { return }
        let endpoint: String
        if let at = destination.lastIndex(of: "@") {
            endpoint = String(destination[destination.index(after: at)...])
        } else {
            endpoint = String(destination.prefix { $0 != "/" })
        }
        // A number or a host name is not an endpoint name.
        guard !endpoint.isEmpty, !endpoint.contains("."), !endpoint.contains(":"),
              !endpoint.allSatisfy({ $0.isNumber || $0 == "+" }) else { return }
        let known = names.agents.union(names.trunks)
        guard !known.contains(endpoint) else { return }
        report(priority, offset: start, "MessageSend to '\(written.trimmingCharacters(in: .whitespaces))': '\(endpoint)' is not an [agent] or [trunk] in \(names.source)",
               near: endpoint, in: known)
    }

    private mutating func report(_ priority: Priority, offset: Int, _ message: String, near name: String, in names: Set<String>) {
        var text = message
        if let suggestion = Self.closest(name, in: names) { text += "; did you mean '\(suggestion)'?" }
        diagnostics.append(Diagnostic(runtimeSeverity, at(priority, offset), text))
    }

    private func leadingBlanks(_ text: String) -> Int { text.utf8.prefix { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }.count }
}
