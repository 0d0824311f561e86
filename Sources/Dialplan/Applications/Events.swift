/// Verbose, Log, UserEvent: what a plan tells the log and the event stream.
///
/// Each is an `Event` handed to `Interpreter.onEvent` as it happens (the gateway
/// logs them, calls and messages alike) and kept in the run's `Outcome`.
public struct UserEvent: Sendable, Equatable, CustomStringConvertible {
    /// One `Key: value` of the event's body.
    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public var name: String
    public var fields: [Field]

    public init(name: String, fields: [Field]) {
        self.name = name
        self.fields = fields
    }

    /// The value of a field, by its key (keys compare without regard to case, as AMI's do).
    public subscript(key: String) -> String? { fields.first { $0.key.lowercased() == key.lowercased() }?.value }

    /// `TestResult Result: Success, message: done`
    public var description: String {
        ([name] + fields.map { "\($0.key): \($0.value)" }).joined(separator: " ")
    }
}

/// Something a run reports as it happens.
public enum Event: Sendable, Equatable {
    /// `Verbose(…)` or `Log(level,…)`: the level as Asterisk names it (VERBOSE, NOTICE, WARNING, ERROR, DEBUG, DTMF),
    /// the text, and the step that wrote it.
    case log(level: String, text: String, at: SourceLocation)
    /// `UserEvent(name,Key: value,…)`.
    case user(UserEvent, at: SourceLocation)
}

extension Interpreter {
    /// `Verbose([level,]message)`: the message is everything after the first comma, as written.
    func verbose(_ text: String) -> Flow {
        guard !text.isEmpty else { return .next }
        let parts = Self.split(text, at: ",", nested: true)
        let message = parts.count == 2 ? parts[1] : parts[0]
        if parts.count == 2, UInt(parts[0].trimmingCharacters(in: .whitespaces)) == nil {
            warnings.append("Verbose: '\(parts[0])' is not a verbosity level (0-4)")
        }
        report(level: "VERBOSE", message)
        return .next
    }

    /// `Log(level,message)`: ERROR, WARNING, NOTICE, DEBUG, VERBOSE or DTMF, in any case.
    func log(_ text: String) -> Flow {
        guard !text.isEmpty else { return .next }
        let parts = Self.split(text, at: ",", nested: true)
        let level = parts[0].trimmingCharacters(in: .whitespaces).uppercased()
        guard ["ERROR", "WARNING", "NOTICE", "DEBUG", "VERBOSE", "DTMF"].contains(level) else {
            warnings.append("Log: unknown log level '\(parts[0])'")
            return .next
        }
        report(level: level, parts.count == 2 ? parts[1] : "")
        return .next
    }

    private func report(level: String, _ text: String) {
        messages.append("\(level): \(text)")
        onEvent(.log(level: level, text: text, at: currentLocation ?? SourceLocation(file: "", line: 0)))
    }

    /// `UserEvent(name[,Key: value[,…]])`: an argument without a ':' is left out, as Asterisk leaves it.
    func userEvent(_ text: String) -> Flow {
        let args = Self.standardArguments(text)
        guard let name = args.first, !name.isEmpty else {
            return fail("user-event", "UserEvent needs an event name; the call ends, as in Asterisk")
        }
        var fields: [UserEvent.Field] = []
        for argument in args.dropFirst() {
            guard let colon = argument.firstIndex(of: ":") else { continue }
            fields.append(.init(argument[..<colon].trimmingCharacters(in: .whitespaces),
                                argument[argument.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let event = UserEvent(name: name, fields: fields)
        userEvents.append(event)
        onEvent(.user(event, at: currentLocation ?? SourceLocation(file: "", line: 0)))
        return .next
    }
}
