/// The plan as a flowchart admins can look at: a box per context holding a
/// box per extension (its steps in order); solid arrows for jumps (labelled
/// with their condition), dotted ones for menu choices (digits pressed at a
/// Background or WaitExten) and for includes.
public enum DialplanGraph {
    public enum Format: String, Sendable { case mermaid, dot }

    struct Node {
        let id: String
        let label: String
    }

    struct Cluster {
        let id: String
        let name: String
        var nodes: [Node] = []
    }

    struct Edge: Equatable {
        var from: String
        var to: String
        var label: String
        var dashed: Bool
    }

    /// Renders the whole plan, or only `context` and what it reaches by jumps and includes.
    public static func render(_ plan: Dialplan, context only: String? = nil, format: Format) -> String {
        let names = only.map { reachableContexts(from: $0, in: plan) } ?? plan.contextNames
        var clusters: [Cluster] = []
        var clusterID: [String: String] = [:]
        var nodeID: [String: String] = [:]   // "context|extension name"
        for (i, name) in names.enumerated() {
            guard let context = plan.contexts[name] else { continue }
            var cluster = Cluster(id: "c\(i)", name: name)
            clusterID[name] = cluster.id
            for (j, entry) in context.extensions.enumerated() {
                let id = "c\(i)_\(j)"
                nodeID["\(name)|\(entry.name)"] = id
                let steps = entry.numbers.map { number -> String in
                    let p = entry.priorities[number]!
                    let step = "\(p.app?.rawValue ?? p.application)(\(p.arguments))"
                    return step.count > 36 ? String(step.prefix(33)) + "…)" : step
                }
                let shown = steps.prefix(6) + (steps.count > 6 ? ["… \(steps.count - 6) more"] : [])
                cluster.nodes.append(Node(id: id, label: ([entry.name] + shown).joined(separator: "\n")))
            }
            if cluster.nodes.isEmpty { cluster.nodes.append(Node(id: "c\(i)_none", label: "(no extensions)")) }
            clusters.append(cluster)
        }

        var edges: [Edge] = []
        func add(_ edge: Edge) { if edge.from != edge.to && !edges.contains(edge) { edges.append(edge) } }
        for name in names {
            guard let context = plan.contexts[name], let from = clusterID[name] else { continue }
            for entry in context.extensions {
                let source = nodeID["\(name)|\(entry.name)"]!
                var isMenu = false
                for number in entry.numbers {
                    let p = entry.priorities[number]!
                    if p.app == .background || p.app == .waitExten { isMenu = true }
                    for (target, label) in jumps(p) {
                        guard let to = resolve(target, from: name, entry, plan: plan, nodes: nodeID, clusters: clusterID) else { continue }
                        // A computed target points at its context, and says what it computes.
                        let computed = clusters.contains { $0.id == to }
                        if computed && to == from { continue }  // somewhere in its own box: the step says where
                        add(Edge(from: source, to: to, label: computed ? [label, target].filter { !$0.isEmpty }.joined(separator: " ") : label,
                                 dashed: false))
                    }
                }
                guard isMenu else { continue }
                for choice in context.extensions where choice.pattern == nil && choice.name != entry.name {
                    let label: String
                    switch choice.name {
                    case "i": label = "invalid"
                    case "t": label = "timeout"
                    case "h", "e", "s": continue
                    default:
                        guard choice.name.allSatisfy({ $0.isNumber || $0 == "*" || $0 == "#" }) else { continue }
                        label = "press \(choice.name)"
                    }
                    add(Edge(from: source, to: nodeID["\(name)|\(choice.name)"]!, label: label, dashed: true))
                }
            }
            for include in context.includes {
                guard let to = clusterID[include.context] else { continue }
                add(Edge(from: from, to: to, label: include.time.map { "include when \($0.text)" } ?? "include", dashed: true))
            }
        }
        switch format {
        case .mermaid: return mermaid(clusters, edges)
        case .dot: return dot(clusters, edges)
        }
    }

    /// Contexts reachable from one, by includes and jumps that name a context.
    static func reachableContexts(from start: String, in plan: Dialplan) -> [String] {
        var seen: [String] = []
        var queue = [start]
        while !queue.isEmpty {
            let name = queue.removeFirst()
            guard !seen.contains(name), let context = plan.contexts[name] else { continue }
            seen.append(name)
            queue += context.includes.map(\.context)
            for entry in context.extensions {
                for p in entry.priorities.values {
                    for (target, _) in jumps(p) {
                        let parts = Parser.splitTopLevel(target).map { $0.trimmingCharacters(in: .whitespaces) }
                        if parts.count == 3, !parts[0].contains("$") { queue.append(parts[0]) }
                    }
                }
            }
        }
        return seen
    }

    /// The places a priority can jump to, with what the arrow should say.
    static func jumps(_ priority: Priority) -> [(String, String)] {
        func strip(_ text: String) -> String {
            if let open = text.firstIndex(of: "("), text.hasSuffix(")") { return String(text[..<open]) }
            return text
        }
        func branches(_ what: String, gosub: Bool) -> [(String, String)] {
            let text = priority.arguments
            guard let question = text.firstIndex(of: "?") else { return [] }
            var condition = String(text[..<question])
            if condition.count > 30 { condition = String(condition.prefix(29)) + "…" }
            let both = Checker.branches(text)
            var result: [(String, String)] = []
            if let yes = both.first ?? nil { result.append((gosub ? strip(yes) : yes, "\(what) \(condition)")) }
            if both.count > 1, let no = both[1] { result.append((gosub ? strip(no) : no, gosub ? "gosub else" : "else")) }
            return result
        }
        switch priority.app {
        case .goto?: return [(priority.arguments, "")]
        case .gosub?: return [(strip(priority.arguments), "gosub")]
        case .gotoIf?: return branches("if", gosub: false)
        case .gotoIfTime?: return branches("if", gosub: false)
        case .gosubIf?: return branches("gosub if", gosub: true)
        default: return []
        }
    }

    /// The node (or, for a computed extension, the context box) a target names.
    static func resolve(_ target: String, from context: String, _ entry: Extension, plan: Dialplan,
                        nodes: [String: String], clusters: [String: String]) -> String? {
        var parts = Parser.splitTopLevel(target).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...3).contains(parts.count) else { return nil }
        var name = context
        if parts.count == 3 { name = parts.removeFirst() }
        guard !name.contains("$"), let cluster = clusters[name] else { return nil }
        if parts.count == 1 { return nodes["\(context)|\(entry.name)"] }
        let exten = parts[0], priority = parts[1]
        if exten.contains("$") || priority.contains("$") { return cluster }
        let number = Int(priority)
        let found = plan.extensions(matching: exten, in: name).first { candidate in
            number.map { candidate.extension.priorities[$0] != nil } ?? (candidate.extension.labels[priority] != nil)
        }
        guard let found else { return cluster }
        return nodes["\(found.context)|\(found.extension.name)"] ?? clusters[found.context]
    }

    private static func mermaid(_ clusters: [Cluster], _ edges: [Edge]) -> String {
        func text(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "#amp;").replacingOccurrences(of: "\"", with: "#quot;")
                .replacingOccurrences(of: "<", with: "#lt;").replacingOccurrences(of: ">", with: "#gt;")
                .replacingOccurrences(of: "\n", with: "<br/>")
        }
        var out = "flowchart TD\n"
        for cluster in clusters {
            out += "  subgraph \(cluster.id)[\"[\(text(cluster.name))]\"]\n"
            for node in cluster.nodes { out += "    \(node.id)[\"\(text(node.label))\"]\n" }
            out += "  end\n"
        }
        for edge in edges {
            let arrow = edge.dashed ? "-.->" : "-->"
            out += edge.label.isEmpty ? "  \(edge.from) \(arrow) \(edge.to)\n" : "  \(edge.from) \(arrow)|\"\(text(edge.label))\"| \(edge.to)\n"
        }
        return out
    }

    private static func dot(_ clusters: [Cluster], _ edges: [Edge]) -> String {
        func text(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\l")
        }
        // An arrow to or from a context box is drawn to its first node, clipped at the box.
        var anchor: [String: String] = [:]
        var out = "digraph dialplan {\n  compound=true;\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
        for cluster in clusters {
            out += "  subgraph cluster_\(cluster.id) {\n    label=\"[\(text(cluster.name))]\";\n"
            for node in cluster.nodes { out += "    \(node.id) [label=\"\(text(node.label))\\l\"];\n" }
            anchor[cluster.id] = cluster.nodes.first?.id
            out += "  }\n"
        }
        for edge in edges {
            var attributes = ["label=\"\(text(edge.label))\""]
            if edge.dashed { attributes.append("style=dashed") }
            var from = edge.from, to = edge.to
            if let node = anchor[from] { attributes.append("ltail=cluster_\(from)"); from = node }
            if let node = anchor[to] { attributes.append("lhead=cluster_\(to)"); to = node }
            out += "  \(from) -> \(to) [\(attributes.joined(separator: ", "))];\n"
        }
        return out + "}\n"
    }
}
