/// The plan as a flowchart admins can look at: a box per context holding a
/// box per extension (its steps in order); solid arrows for jumps (labelled
/// with their condition, and the label or priority they go to when that is not
/// the start of the extension), dotted ones for menu choices (digits pressed at
/// a Background or WaitExten) and for includes. A jump computed at run time
/// goes to a node that says what it computes (`${EXTEN:1},1`), in the context's
/// box when the context is written out. A queue is a node of its own, listing
/// its members when the configuration is given.
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
    /// - Parameter names: the configuration's queues and their members, to show them; nil shows queues without members.
    public static func render(_ plan: Dialplan, context only: String? = nil, format: Format, names: ConfigurationNames? = nil) -> String {
        let names_ = names
        let contextNames = only.map { reachableContexts(from: $0, in: plan) } ?? plan.contextNames
        var clusters: [Cluster] = []
        var loose: [Node] = []              // nodes outside any context box: queues, computed contexts
        var clusterID: [String: String] = [:]
        var clusterIndex: [String: Int] = [:]
        var nodeID: [String: String] = [:]   // "context|extension name"
        for (i, name) in contextNames.enumerated() {
            guard let context = plan.contexts[name] else { continue }
            var cluster = Cluster(id: "c\(i)", name: name)
            clusterID[name] = cluster.id
            for (j, entry) in context.extensions.enumerated() {
                let id = "c\(i)_\(j)"
                nodeID["\(name)|\(entry.name)"] = id
                let steps = entry.numbers.map { number -> String in
                    let p = entry.priorities[number]!
                    let step = (p.label.map { "(\($0)) " } ?? "") + "\(p.app?.rawValue ?? p.application)(\(p.arguments))"
                    return step.count > 36 ? String(step.prefix(33)) + "…)" : step
                }
                let shown = steps.prefix(6) + (steps.count > 6 ? ["… \(steps.count - 6) more"] : [])
                cluster.nodes.append(Node(id: id, label: ([entry.name] + shown).joined(separator: "\n")))
            }
            if cluster.nodes.isEmpty { cluster.nodes.append(Node(id: "c\(i)_none", label: "(no extensions)")) }
            clusterIndex[name] = clusters.count
            clusters.append(cluster)
        }

        var edges: [Edge] = []
        func add(_ edge: Edge) { if !edges.contains(edge) { edges.append(edge) } }
        var computed: [String: String] = [:]   // "context|text" -> node id
        func computedNode(_ text: String, context: String?) -> String {
            let key = "\(context ?? "")|\(text)"
            if let id = computed[key] { return id }
            let id = "x\(computed.count)"
            computed[key] = id
            let node = Node(id: id, label: "computed: \(text)")
            if let context, let index = clusterIndex[context] { clusters[index].nodes.append(node) } else { loose.append(node) }
            return id
        }
        var queueNodes: [String: String] = [:]
        for name in contextNames {
            guard let context = plan.contexts[name], let from = clusterID[name] else { continue }
            for entry in context.extensions {
                let source = nodeID["\(name)|\(entry.name)"]!
                var isMenu = false
                for number in entry.numbers {
                    let p = entry.priorities[number]!
                    if p.app == .background || p.app == .waitExten { isMenu = true }
                    for jump in Checker.jumps(p) {
                        var label = jump.otherwise ? (jump.gosub ? "gosub else" : "else")
                            : jump.condition.map { "\(jump.gosub ? "gosub if" : "if") \(shorten($0))" } ?? (jump.gosub ? "gosub" : "")
                        guard jump.literal else {
                            // Computed: what the plan wrote, in the context it names (when it names one).
                            let written = Checker.conditionText(targetTemplate(p, jump) ?? Template(""))
                            let parts = Parser.splitTopLevel(written).map { $0.trimmingCharacters(in: .whitespaces) }
                            let targetContext = parts.count == 3 && !parts[0].contains("$") ? parts[0] : (parts.count < 3 ? name : nil)
                            add(Edge(from: source, to: computedNode(written, context: targetContext.flatMap { clusterID[$0] == nil ? nil : $0 }),
                                     label: label, dashed: false))
                            continue
                        }
                        guard let (to, place) = resolve(jump.text, from: name, entry, plan: plan, nodes: nodeID, clusters: clusterID) else { continue }
                        if let place { label += (label.isEmpty ? "to " : " to ") + place }
                        add(Edge(from: source, to: to, label: label, dashed: false))
                    }
                    if p.app == .queue, let queue = Parser.splitTopLevel(p.arguments, maxSplits: 1).first?.trimmingCharacters(in: .whitespaces),
                       !queue.isEmpty {
                        let id: String
                        if queue.contains("$") {
                            id = computedNode("queue " + queue, context: nil)
                        } else if let known = queueNodes[queue] {
                            id = known
                        } else {
                            id = "q\(queueNodes.count)"
                            queueNodes[queue] = id
                            var text = "queue \(queue)"
                            if let names_ {
                                if let members = names_.queues[queue] {
                                    text += "\n" + (members.isEmpty ? "no members" : "members: " + members.joined(separator: ", "))
                                } else {
                                    text += "\nnot in \(names_.source)"
                                }
                            }
                            loose.append(Node(id: id, label: text))
                        }
                        add(Edge(from: source, to: id, label: "queue", dashed: false))
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
        case .mermaid: return mermaid(clusters, loose, edges)
        case .dot: return dot(clusters, loose, edges)
        }
    }

    private static func shorten(_ condition: String) -> String {
        condition.count > 30 ? String(condition.prefix(29)) + "…" : condition
    }

    /// The template of a computed jump's target, found again from the step's shape.
    private static func targetTemplate(_ priority: Priority, _ jump: Checker.Jump) -> Template? {
        var found: Template?
        func visit(_ shape: Shape) {
            switch shape {
            case .plain(let template): if template.startOffset == jump.offset, !template.pieces.isEmpty { found = template }
            case .branches(_, let yes, let no, _):
                if let yes { visit(yes) }
                if let no { visit(no) }
            case .call(_, _, _, let arguments, _, _): visit(arguments)
            case .computedCall: break
            }
        }
        visit(priority.shape)
        return found
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
                    for jump in Checker.jumps(p) {
                        let text = jump.literal ? jump.text : Checker.conditionText(targetTemplate(p, jump) ?? Template(""))
                        let parts = Parser.splitTopLevel(text).map { $0.trimmingCharacters(in: .whitespaces) }
                        if parts.count == 3, !parts[0].contains("$") { queue.append(parts[0]) }
                    }
                }
            }
        }
        return seen
    }

    /// The node a target names, and the label or priority it goes to when that is not priority 1.
    static func resolve(_ target: String, from context: String, _ entry: Extension, plan: Dialplan,
                        nodes: [String: String], clusters: [String: String]) -> (String, String?)? {
        var parts = Parser.splitTopLevel(target).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...3).contains(parts.count) else { return nil }
        var name = context
        if parts.count == 3 { name = parts.removeFirst() }
        guard let cluster = clusters[name] else { return nil }
        if parts.count == 1 { return nodes["\(context)|\(entry.name)"].map { ($0, parts[0]) } }
        let exten = parts[0], priority = parts[1]
        let number = Int(priority)
        let place = priority == "1" ? nil : priority
        let found = plan.extensions(matching: exten, in: name).first { candidate in
            number.map { candidate.extension.priorities[$0] != nil } ?? (candidate.extension.labels[priority] != nil)
        }
        guard let found else { return (cluster, nil) }
        return (nodes["\(found.context)|\(found.extension.name)"] ?? clusters[found.context]!, place)
    }

    private static func mermaid(_ clusters: [Cluster], _ loose: [Node], _ edges: [Edge]) -> String {
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
        for node in loose { out += "  \(node.id)[\"\(text(node.label))\"]\n" }
        for edge in edges {
            let arrow = edge.dashed ? "-.->" : "-->"
            out += edge.label.isEmpty ? "  \(edge.from) \(arrow) \(edge.to)\n" : "  \(edge.from) \(arrow)|\"\(text(edge.label))\"| \(edge.to)\n"
        }
        return out
    }

    private static func dot(_ clusters: [Cluster], _ loose: [Node], _ edges: [Edge]) -> String {
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
        for node in loose { out += "  \(node.id) [label=\"\(text(node.label))\\l\"];\n" }
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
