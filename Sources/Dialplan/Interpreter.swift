import Foundation
import Synchronization

/// Global variables: shared by every call running a plan, changed by
/// `Set(GLOBAL(x)=…)`, kept across reloads (see `reload(from:)`). Guarded by a mutex.
public final class Globals: Sendable {
    private let values: Mutex<[String: String]>

    public init(_ plan: Dialplan) {
        values = Mutex(Dictionary(plan.globals.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
    }

    public subscript(name: String) -> String? {
        get { values.withLock { $0[name] } }
        set { values.withLock { $0[name] = newValue } }
    }

    /// Takes a reloaded plan's `[globals]`. As in Asterisk, values set while
    /// calls ran survive a reload unless `[general] clearglobalvars = yes`.
    func reload(from plan: Dialplan) {
        values.withLock { values in
            if plan.clearGlobals { values = [:] }
            for (name, value) in plan.globals { values[name] = value }
        }
    }
}

/// How a call (or message) enters the plan.
public struct CallStart: Sendable {
    public var context: String
    public var exten: String
    public var callerIDNumber: String
    public var callerIDName: String
    public var uniqueID: String
    /// Channel variables set before the first priority.
    public var variables: [String: String] = [:]
    /// For message contexts: the inbound message (`MESSAGE(body|from|to)`).
    public var message: (body: String, from: String, to: String)?
    /// The agent whose own phone placed the call (`CHANNEL(endpoint)`, and the
    /// member the queue-member applications change when they name none).
    public var endpoint: String?
    /// The clock and time zone for GotoIfTime, IFTIME, STRFTIME and timed includes.
    public var now: @Sendable () -> Date = { Date() }
    public var timeZone = TimeZone.current

    public init(context: String, exten: String, callerIDNumber: String = "", callerIDName: String = "", uniqueID: String) {
        self.context = context
        self.exten = exten
        self.callerIDNumber = callerIDNumber
        self.callerIDName = callerIDName
        self.uniqueID = uniqueID
    }
}

/// One priority run: where, and the application with its expanded arguments.
public struct Step: Sendable, Equatable, Codable, CustomStringConvertible {
    public var context: String
    public var exten: String
    public var priority: Int
    public var application: String
    public var arguments: String

    /// `context,exten,priority: App(args)`, as in the call record's dialplan path.
    public var description: String { "\(context),\(exten),\(priority): \(application)(\(arguments))" }
}

/// How a run ended.
public struct Outcome: Sendable {
    public var steps: [Step]
    /// Why execution stopped: `hangup` (Hangup/Busy/Congestion), `caller-hangup`,
    /// `dial-ended`, `autofallthrough`, `no-extension`, `step-limit`, `message-done`.
    public var reason: String
    /// The Q.850 cause the dialplan hung up with, when it did.
    public var hangupCause: Int?
    public var variables: [String: String]
    /// Problems met while running (bad expressions, unsupported applications…), in words.
    public var warnings: [String]
    /// What Verbose() and Log() wrote, in order (`VERBOSE: text`, `NOTICE: text`).
    public var messages: [String] = []
    /// What UserEvent() sent, in order.
    public var userEvents: [UserEvent] = []
    /// The last application run before the hangup handler, and its arguments (CDR lastapp/lastdata).
    public var lastApplication: String
    public var lastData: String
}

/// Where execution is: a context, an extension and a priority.
struct Position: Hashable {
    var context: String
    var exten: String
    var priority: Int
}

/// Runs a plan for one call (or message), against a `Channel`.
///
/// Used by one task at a time: create one per call.
public final class Interpreter {
    let plan: Dialplan
    let channel: Channel
    let globals: Globals
    let start: CallStart
    /// Called for each step as it runs (logs, `simulate`).
    let onStep: (Step) -> Void
    /// Called with what Verbose, Log and UserEvent report, as they run (the gateway logs them).
    public var onEvent: (Event) -> Void = { _ in }

    var variables: [String: String] = [:]
    /// Variables marked for inheritance by dialled legs: 1 for `_VAR`, 2 for `__VAR`.
    var inheritance: [String: Int] = [:]
    var frames: [Frame] = []
    var steps: [Step] = []
    var warnings: [String] = []
    var messages: [String] = []
    var userEvents: [UserEvent] = []
    /// Open If and While blocks (see Blocks.swift).
    var ifBlocks = Blocks()
    var whileBlocks = Blocks()
    /// Where the step running was written, for warnings and events that name its file:line.
    var currentLocation: SourceLocation?
    /// The step whose jump led to the current position, until a priority is found there.
    var jumpedFrom: (priority: Priority, text: String)?
    /// When each `HASH()` key was last set, so HASHKEYS lists the latest first, as Asterisk does.
    var hashStamps: [String: Int] = [:]
    var hashClock = 0
    /// How deep EVAL_EXTEN is evaluating.
    var evalDepth = 0
    /// The last exception raised: reason, context, exten, priority.
    var exception: [String: String] = [:]
    /// Regular expressions compiled for `:` and `=~`, kept for the call.
    let regexes = RegexCache()
    /// The extensions the current context and extension reach, found once per (context, extension).
    var candidates: (context: String, exten: String, found: [Dialplan.Found])?
    var position: Position
    var callerIDNumber: String
    var callerIDName: String
    var messageBody: String?
    var messageFrom: String?
    var messageTo: String?
    var timeouts = (digit: Duration.seconds(5), response: Duration.seconds(10))
    var absoluteDeadline: ContinuousClock.Instant?
    var lastApplication = ""
    var lastData = ""
    var inHangupHandler = false
    /// Whether the plan has answered the call (Answer, or a prompt that answers).
    var answered = false
    var runsHangupHandler = true
    /// Bounds a run: a plan that loops without waiting stops here.
    public var stepLimit = 10_000

    struct Frame {
        var returnTo: Position
        var locals: [String: String]
    }

    public init(plan: Dialplan, channel: Channel, globals: Globals, start: CallStart, onStep: @escaping (Step) -> Void = { _ in }) {
        self.plan = plan
        self.channel = channel
        self.globals = globals
        self.start = start
        self.onStep = onStep
        position = Position(context: start.context, exten: start.exten, priority: 1)
        callerIDNumber = start.callerIDNumber
        callerIDName = start.callerIDName
        messageBody = start.message?.body
        messageFrom = start.message?.from
        messageTo = start.message?.to
        for (name, value) in start.variables { setVariable(name, value) }
    }

    /// What an application asks the loop to do next.
    enum Flow {
        case next
        case jump(Position)
        case hangup(cause: Int?, reason: String)
        /// Start collecting digits (after Background was interrupted, or WaitExten).
        /// `waitExten`: with no digit at all, go on to the next priority when there is one.
        case collect(first: Character?, responseTimeout: Duration, context: String?, waitExten: Bool = false)
        /// The application failed (Asterisk's -1): the call ends with this warning, unless TryExec ran it.
        case fail(reason: String, message: String)
    }

    // MARK: - Running

    /// Runs from `start` until the call ends, then the `h` extension.
    public func run() async -> Outcome {
        var reason = "autofallthrough"
        var cause: Int?
        loop: while true {
            if channel.isHungUp && !inHangupHandler { reason = "caller-hangup"; break }
            if let absoluteDeadline, ContinuousClock.now >= absoluteDeadline {
                warnings.append("TIMEOUT(absolute) reached")
                await channel.hangup(cause: 16)
                reason = "hangup"; cause = 16
                break
            }
            if steps.count >= stepLimit {
                warnings.append("stopped after \(stepLimit) steps: the plan loops without waiting")
                await channel.hangup(cause: 16)
                reason = "step-limit"; cause = 16
                break
            }
            guard let (found, priority) = lookup(position) else {
                let jump = jumpedFrom
                jumpedFrom = nil
                if position.priority == 1 || lookup(Position(context: position.context, exten: position.exten, priority: 1)) == nil {
                    // No such extension (or context): on to i, else e, else the call ends, as in Asterisk.
                    let missing = plan.contexts[position.context] == nil ? "there is no context [\(position.context)]"
                        : "[\(position.context)] has no extension '\(position.exten)'"
                    if position.exten != "i", position.exten != "h", lookup(Position(context: position.context, exten: "i", priority: 1)) != nil {
                        if let jump { warnings.append("\(jump.priority.location): \(jump.text): \(missing); the call goes to 'i'") }
                        setVariable("INVALID_EXTEN", position.exten)
                        position = Position(context: position.context, exten: "i", priority: 1)
                        continue
                    }
                    if position.exten != "e", position.exten != "h", let target = raise("INVALID", in: position.context) {
                        if let jump { warnings.append("\(jump.priority.location): \(jump.text): \(missing); the call goes to 'e'") }
                        position = target
                        continue
                    }
                    if let jump {
                        warnings.append("\(jump.priority.location): \(jump.text): \(missing); the call ends, as in Asterisk")
                    } else {
                        warnings.append("no extension '\(position.exten)' in [\(position.context)]")
                    }
                    reason = "no-extension"
                    await channel.hangup(cause: 1)
                    cause = 1
                } else if plan.autofallthrough {
                    if let jump {
                        warnings.append("\(jump.priority.location): \(jump.text): '\(position.exten)' in [\(position.context)] has no priority \(position.priority); the call ends, as in Asterisk")
                    }
                    reason = "autofallthrough"
                    let status = variables["DIALSTATUS"] ?? ""
                    cause = status == "BUSY" ? 17 : (status == "CONGESTION" || status == "CHANUNAVAIL") ? 34 : 16
                    if runsHangupHandler { await channel.hangup(cause: cause!) }  // a message has no call to hang up
                } else {
                    switch await follow(.collect(first: nil, responseTimeout: timeouts.response, context: nil)) {
                    case .hangup(let c, let r): cause = c; reason = r; break loop
                    case .jump(let target): position = target
                    default: break
                    }
                    continue
                }
                break
            }
            _ = found
            jumpedFrom = nil
            let flow = await execute(priority)
            switch await follow(flow) {
            case .next: position.priority += 1
            case .jump(let target):
                position = target
                // A jump the plan names (not a Return or a block's end) is reported if it leads nowhere.
                if let app = priority.app, [.goto, .gotoIf, .gotoIfTime, .gosub, .gosubIf, .exec, .tryExec, .execIf, .execIfTime].contains(app) {
                    jumpedFrom = (priority, steps.last.map { "\($0.application)(\($0.arguments))" } ?? priority.application)
                }
            case .fail(let r, let message):
                warnings.append("\(priority.location): \(message)")
                cause = 16
                reason = r
                if runsHangupHandler && !channel.isHungUp { await channel.hangup(cause: 16) }
                break loop
            case .hangup(let c, let r):
                cause = c
                reason = r
                // Hangup, Busy and Congestion told the channel themselves; anything else that ends the call tells it here.
                if r != "hangup" && r != "caller-hangup" && runsHangupHandler && !channel.isHungUp {
                    await channel.hangup(cause: c ?? 16)
                }
                break loop
            case .collect: position.priority += 1
            }
        }
        let last = (lastApplication, lastData)
        // As in Asterisk, h sees why the call ended (16, normal clearing, when the caller hung up).
        if runsHangupHandler { setVariable("HANGUPCAUSE", String(cause ?? 16)) }
        await runHangupHandler()
        return Outcome(steps: steps, reason: reason, hangupCause: cause, variables: variables, warnings: warnings,
                       messages: messages, userEvents: userEvents, lastApplication: last.0, lastData: last.1)
    }

    /// Runs a message context: like a call, without a call (no `h`).
    public func runMessage() async -> Outcome {
        runsHangupHandler = false
        var outcome = await run()
        if outcome.reason == "autofallthrough" || outcome.reason == "caller-hangup" { outcome.reason = "message-done" }
        return outcome
    }

    /// Digit collection resolves to a jump or a hangup; other flows pass through.
    private func follow(_ flow: Flow) async -> Flow {
        guard case .collect(let first, let responseTimeout, let contextOverride, let waitExten) = flow else { return flow }
        let context = contextOverride ?? position.context
        var buffer = first.map(String.init) ?? ""
        if buffer.isEmpty {
            guard let digit = await channel.digit(timeout: responseTimeout) else {
                if channel.isHungUp { return .hangup(cause: nil, reason: "caller-hangup") }
                // WaitExten with nothing pressed goes on when its extension has a next priority (as Asterisk's does).
                if waitExten, lookup(Position(context: position.context, exten: position.exten, priority: position.priority + 1)) != nil {
                    return .next
                }
                if exists(context, "t") { return .jump(Position(context: context, exten: "t", priority: 1)) }
                if let target = raise("RESPONSETIMEOUT", in: context) { return .jump(target) }
                warnings.append("no digits and no 't' extension in [\(context)]")
                await channel.hangup(cause: 16)
                return .hangup(cause: 16, reason: "timeout")
            }
            buffer = String(digit)
        }
        var rounds = 0
        while canMatchMore(context, buffer) && rounds < 64 {
            rounds += 1
            guard let digit = await channel.digit(timeout: timeouts.digit) else { break }
            buffer.append(digit)
        }
        if channel.isHungUp { return .hangup(cause: nil, reason: "caller-hangup") }
        if exists(context, buffer) { return .jump(Position(context: context, exten: buffer, priority: 1)) }
        if exists(context, "i") {
            setVariable("INVALID_EXTEN", buffer)
            return .jump(Position(context: context, exten: "i", priority: 1))
        }
        if let target = raise("INVALID", in: context) { return .jump(target) }
        warnings.append("no extension '\(buffer)' and no 'i' extension in [\(context)]")
        await channel.hangup(cause: 1)
        return .hangup(cause: 1, reason: "no-extension")
    }

    /// Asterisk's exceptions: with no `i` or `t` to go to, an `e` extension
    /// handles the problem; `EXCEPTION(reason)` says which (INVALID,
    /// RESPONSETIMEOUT) and `EXCEPTION(context|exten|priority)` where it arose.
    func raise(_ reason: String, in context: String) -> Position? {
        guard exists(context, "e") else { return nil }
        exception = ["reason": reason, "context": position.context, "exten": position.exten, "priority": String(position.priority)]
        return Position(context: context, exten: "e", priority: 1)
    }

    private func runHangupHandler() async {
        guard runsHangupHandler, !inHangupHandler, lookup(Position(context: position.context, exten: "h", priority: 1)) != nil else { return }
        inHangupHandler = true
        let context = position.context
        position = Position(context: context, exten: "h", priority: 1)
        var count = 0
        while count < 1000, let (_, priority) = lookup(position) {
            count += 1
            let flow = await execute(priority)
            switch flow {
            case .jump(let target): position = target
            case .hangup: return
            case .fail(_, let message):
                warnings.append("\(priority.location): \(message)")
                return
            default: position.priority += 1
            }
        }
    }

    private func execute(_ priority: Priority) async -> Flow {
        currentLocation = priority.location
        let expanded: Arguments
        if case .plain(let template) = priority.shape {
            expanded = .text(await expand(template))  // most steps: one text, no nested shape to walk
        } else {
            expanded = await expand(priority.shape)
        }
        let arguments = expanded.text
        let name = priority.app?.rawValue ?? priority.application
        let step = Step(context: position.context, exten: position.exten, priority: position.priority, application: name,
                        arguments: arguments)
        steps.append(step)
        onStep(step)
        if !inHangupHandler {
            lastApplication = name
            lastData = arguments
        }
        return await runApplication(priority.app, name: name, arguments: expanded)
    }

    // MARK: - Finding extensions

    /// The extension and priority at `position`: the first extension, in
    /// Asterisk's search order (the context, then its includes depth-first,
    /// timed ones only when their time holds), that has that priority.
    func lookup(_ position: Position) -> (Extension, Priority)? {
        for found in extensions(position.exten, in: position.context) {
            let entry = plan[found]
            if let priority = entry.priorities[position.priority] { return (entry, priority) }
        }
        return nil
    }

    /// The extensions `exten` reaches from `context`, in search order; the answer for the current place is kept.
    func extensions(_ exten: String, in context: String) -> [Dialplan.Found] {
        if let candidates, candidates.exten == exten, candidates.context == context { return candidates.found }
        let found = plan.search(Array(exten.utf8).filter { $0 != dash }, in: context, callerID: callerIDNumber,
                                at: start.now(), timeZone: start.timeZone)
        if context == position.context && exten == position.exten { candidates = (context, exten, found) }
        return found
    }

    func exists(_ context: String, _ exten: String) -> Bool {
        lookup(Position(context: context, exten: exten, priority: 1)) != nil
    }

    /// Whether dialling more digits after `prefix` could reach an extension.
    func canMatchMore(_ contextName: String, _ prefix: String) -> Bool {
        plan.canMatchMore(Array(prefix.utf8).filter { $0 != dash }, in: contextName, at: start.now(), timeZone: start.timeZone)
    }

    /// The label's priority in the first extension `exten` reaches that has it.
    func label(_ label: String, exten: String, in context: String) -> Int? {
        for found in extensions(exten, in: context) {
            if let number = plan[found].labels[label] { return number }
        }
        return nil
    }

    /// Resolves `[[context,]exten,]priority` from the current position, as Asterisk's
    /// Goto does: the priority is a number, `+N` or `-N` (from the current one), or a
    /// label of the first extension the name reaches that has it.
    func target(_ text: String) -> Result<Position, RuntimeProblem> {
        // Asterisk reads at most three fields.
        var parts = Array(text.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false).prefix(3))
            .map { Parser.trimmedBlanks(String($0)) }
        var context = position.context, exten = position.exten
        if parts.count == 3 { context = parts.removeFirst() }
        if parts.count == 2 { exten = parts.removeFirst() }
        if context.isEmpty { context = position.context }
        if exten.isEmpty { exten = position.exten }
        let priorityText = parts[0]
        if let sign = priorityText.first, sign == "+" || sign == "-", let n = Int(priorityText.dropFirst()), n >= 0 {
            return .success(Position(context: context, exten: exten, priority: position.priority + (sign == "+" ? n : -n)))
        }
        if let number = Int(priorityText) {
            guard number > 0 else { return .failure(RuntimeProblem("priority \(number) is not a number above 0")) }
            return .success(Position(context: context, exten: exten, priority: number))
        }
        guard !priorityText.isEmpty else { return .failure(RuntimeProblem("no priority given")) }
        guard let number = label(priorityText, exten: exten, in: context) else {
            let place = plan.contexts[context] == nil ? "[\(context)] is not a context" : "extension '\(exten)' in [\(context)] has no label '\(priorityText)'"
            return .failure(RuntimeProblem(place))
        }
        return .success(Position(context: context, exten: exten, priority: number))
    }

    /// Why a jump could not be resolved, in words.
    struct RuntimeProblem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    // MARK: - Variables

    func setVariable(_ name: String, _ value: String) {
        var bare = name
        var level = 0
        while bare.hasPrefix("_") && level < 2 { bare.removeFirst(); level += 1 }
        if level > 0 { inheritance[bare] = level }
        // A LOCAL of this Gosub or one it was called from is set where it lives, as Asterisk's are.
        if let frame = frames.indices.last(where: { frames[$0].locals[bare] != nil }) {
            frames[frame].locals[bare] = value
        } else {
            variables[bare] = value
        }
    }

    func variable(_ name: String) -> String? {
        for frame in frames.reversed() { if let value = frame.locals[name] { return value } }
        if let value = variables[name] { return value }
        switch name {
        case "EXTEN": return position.exten
        case "CONTEXT": return position.context
        case "PRIORITY": return String(position.priority)
        case "UNIQUEID": return start.uniqueID
        case "EPOCH": return String(Int(start.now().timeIntervalSince1970))
        case "GOSUB_RETVAL": return variables["GOSUB_RETVAL"]
        default: return globals[name]
        }
    }

    /// Variables dialled legs inherit, with their underscores (`_VAR` once, `__VAR` always).
    var inheritedVariables: [String: String] {
        var result: [String: String] = [:]
        for (name, level) in inheritance {
            if let value = variables[name] { result[String(repeating: "_", count: level) + name] = value }
        }
        return result
    }
}
