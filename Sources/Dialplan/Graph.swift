/// The plan as a flowchart admins can look at: one box per extension (its
/// steps in order), grouped by context; arrows for jumps (with their
/// condition), menu choices (digits dialled after a prompt) and includes.
public enum DialplanGraph {
    public enum Format: String, Sendable { case mermaid, dot }

    struct Edge: Hashable {
        var from: String
        var to: String
        var label: String
        var dashed: Bool
    }

    public static func render(_ plan: Dialplan, context only: String? = nil, format: Format) -> String {
        var nodes: [(context: String, id: String, label: String)] = []
        var edges: [Edge] = []
        let names = only.map { name in reachableContexts(from: name, in: plan) } ?? plan.contextNames
        for name in names {
            guard let context = plan.contexts[name] else { continue }
            var hasMenu = false
            for extensionEntry in context.extensions {
                let id = nodeID(name, extensionEntry.name)
                let steps = extensionEntry.numbers.map { number -> String in
                    let p = extensionEntry.priorities[number]!
                    let args = p.arguments.count > 28 ? String(p.arguments.prefix(25)) + "…" : p.arguments
                    return "\(p.application)(\(args))"
                }
                let shown = steps.prefix(6).joined(separator: "\n") + (steps.count > 6 ? "\n… \(steps.count - 6) more" : "")
                nodes.append((name, id, "\(extensionEntry.name)\n\(shown)"))
                for number in extensionEntry.numbers {
                    let p = extensionEntry.priorities[number]!
                    let app = Catalog.canonicalApplication(p.application) ?? p.application
                    if app == "Background" || app == "WaitExten" || app == "Read" { hasMenu = true }
                    for (target, label) in jumps(app, p.arguments) {
                        if let to = resolve(target, from: name, extensionEntry.name, plan: plan) {
                            edges.append(Edge(from: id, to: to, label: label, dashed: false))
                        }
                    }
                }
            }
            if hasMenu {
                let menuSources = context.extensions.filter { e in
                    e.numbers.contains { n in
                        let app = Catalog.canonicalApplication(e.priorities[n]!.application) ?? ""
                        return app == "Background" || app == "WaitExten"
                    }
                }
                for source in menuSources {
                    for choice in context.extensions where choice.pattern == nil && choice.name != source.name
                        && (choice.name.count == 1 || choice.name.allSatisfy(\.isNumber)) {
                        let label = ["i": "invalid", "t": "timeout", "h": "hangup"][choice.name] ?? "press \(choice.name)"
                        edges.append(Edge(from: nodeID(name, source.name), to: nodeID(name, choice.name), label: label, dashed: true))
                    }
                }
            }
            for include in context.includes where plan.contexts[include.context] != nil && names.contains(include.context) {
                guard let first = context.extensions.first, let target = plan.contexts[include.context]?.extensions.first else { continue }
                edges.append(Edge(from: nodeID(name, first.name), to: nodeID(include.context, target.name),
                                  label: include.time.map { "include when \($0.text)" } ?? "include", dashed: true))
            }
        }
        var unique: [Edge] = []
        for edge in edges where !unique.contains(edge) { unique.append(edge) }
        switch format {
        case .mermaid: return mermaid(nodes, unique, names)
        case .dot: return dot(nodes, unique, names)
        }
    }

    /// Contexts reachable from one, by includes and jumps.
    static func reachableContexts(from start: String, in plan: Dialplan) -> [String] {
        var seen: [String] = []
        var queue = [start]
        while let name = queue.first {
            queue.removeFirst()
            guard !seen.contains(name), let context = plan.contexts[name] else { continue }
            seen.append(name)
            queue += context.includes.map(\.context)
            for e in context.extensions {
                for n in e.numbers {
                    let p = e.priorities[n]!
                    for (target, _) in jumps(Catalog.canonicalApplication(p.application) ?? "", p.arguments) {
                        let parts = Parser.splitTopLevel(target)
                        if parts.count == 3 { queue.append(parts[0].trimmingCharacters(in: .whitespaces)) }
                    }
                }
            }
        }
        return seen
    }

    static func jumps(_ app: String, _ arguments: String) -> [(String, String)] {
        func branches(_ text: String, _ what: String) -> [(String, String)] {
            guard let q = text.firstIndex(of: "?") else { return [] }
            let condition = String(text[..<q])
            let shortCondition = condition.count > 30 ? String(condition.prefix(27)) + "…" : condition
            let rest = text[text.index(after: q)...]
            var result: [(String, String)] = []
            if let colon = rest.firstIndex(of: ":") {
                if !rest[..<colon].isEmpty { result.append((String(rest[..<colon]), "\(what) \(shortCondition)")) }
                if !rest[rest.index(after: colon)...].isEmpty { result.append((String(rest[rest.index(after: colon)...]), "else")) }
            } else if !rest.isEmpty {
                result.append((String(rest), "\(what) \(shortCondition)"))
            }
            return result
        }
        func strip(_ text: String) -> String {
            if let open = text.firstIndex(of: "("), text.hasSuffix(")") { return String(text[..<open]) }
            return text
        }
        switch app {
        case "Goto": return [(arguments, "goto")]
        case "Gosub": return [(strip(arguments), "gosub")]
        case "GotoIf": return branches(arguments, "if")
        case "GotoIfTime": return branches(arguments, "time")
        case "GosubIf": return branches(arguments, "gosub if").map { (strip($0.0), $0.1) }
        default: return []
        }
    }

    static func resolve(_ target: String, from context: String, _ exten: String, plan: Dialplan) -> String? {
        guard !target.contains("$") else { return nil }
        var parts = Parser.splitTopLevel(target).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...3).contains(parts.count) else { return nil }
        var c = context, e = exten
        let bare = parts.count == 1
        if parts.count == 3 { c = parts.removeFirst() }
        if parts.count == 2 { e = parts.removeFirst() }
        guard let ctx = plan.contexts[c] else { return nil }
        if bare { return nodeID(c, exten) }
        if let match = ctx.extensions.first(where: { $0.name == e }) ?? ctx.extensions.first(where: { $0.pattern?.matches(e) == true }) {
            return nodeID(c, match.name)
        }
        return nil
    }

    static func nodeID(_ context: String, _ exten: String) -> String {
        let raw = context + "__" + exten
        return "n_" + raw.unicodeScalars.map { ($0.properties.isAlphabetic || ("0"..."9").contains($0)) && $0.isASCII ? String($0) : "_\($0.value)_" }.joined()
    }

    private static func mermaid(_ nodes: [(context: String, id: String, label: String)], _ edges: [Edge], _ names: [String]) -> String {
        func text(_ s: String) -> String {
            s.replacingOccurrences(of: "\"", with: "#quot;").replacingOccurrences(of: "\n", with: "<br/>")
        }
        var out = "flowchart TD\n"
        for name in names where nodes.contains(where: { $0.context == name }) {
            out += "  subgraph \(nodeID(name, ""))[\"[\(text(name))]\"]\n"
            for node in nodes where node.context == name { out += "    \(node.id)[\"\(text(node.label))\"]\n" }
            out += "  end\n"
        }
        for edge in edges {
            out += "  \(edge.from) \(edge.dashed ? "-.->" : "-->")|\"\(text(edge.label))\"| \(edge.to)\n"
        }
        return out
    }

    private static func dot(_ nodes: [(context: String, id: String, label: String)], _ edges: [Edge], _ names: [String]) -> String {
        func text(_ s: String) -> String { s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\l") }
        var out = "digraph dialplan {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
        for (index, name) in names.enumerated() where nodes.contains(where: { $0.context == name }) {
            out += "  subgraph cluster_\(index) {\n    label=\"[\(text(name))]\";\n"
            for node in nodes where node.context == name { out += "    \(node.id) [label=\"\(text(node.label))\\l\"];\n" }
            out += "  }\n"
        }
        for edge in edges {
            out += "  \(edge.from) -> \(edge.to) [label=\"\(text(edge.label))\"\(edge.dashed ? ", style=dashed" : "")];\n"
        }
        return out + "}\n"
    }
}
