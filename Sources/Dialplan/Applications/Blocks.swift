/// If, ElseIf, Else, EndIf, ExitIf; While, EndWhile, ExitWhile, ContinueWhile.
///
/// These follow Asterisk's app_if and app_while step for step, quirks included,
/// because plans (and Asterisk's own tests) depend on them: a block is numbered
/// when its If or While first runs, the innermost open block is the one with the
/// highest number, and a block is left by looking ahead through the following
/// priorities of the same extension for its matching EndIf or EndWhile (counting
/// nested ones). So, as in Asterisk, a true If that runs into an `ElseIf` opens a
/// new block there rather than leaving (write `ExitIf()` before it), and a block
/// left by a Goto stays open. Asterisk keeps this state in channel variables
/// (`IF_0`, `WHILE_0`, `END_WHILE_0`, …); Omnigate keeps it to the interpreter.
extension Interpreter {
    /// Open blocks of one kind: where each numbered block's If or While is, where
    /// to go when a While's condition fails (learnt from its EndWhile; Ifs never
    /// learn one), and which number the block at a position has.
    struct Blocks {
        var open: [Int: Position] = [:]
        var ends: [Int: Position] = [:]
        var numbers: [Position: Int] = [:]

        /// The highest number n such that blocks 0…n are all open; -1 for none.
        var innermost: Int {
            var n = -1
            while open[n + 1] != nil { n += 1 }
            return n
        }
    }

    /// `If(condition)` … `ElseIf(condition)` … `Else()` … `EndIf()`, and `ExitIf()`.
    func conditionalBlock(_ app: Application, _ condition: String) -> Flow {
        let here = position
        let innermost = ifBlocks.innermost
        let number: Int
        if app == .endIf || app == .else || app == .exitIf {
            number = innermost
        } else if let known = ifBlocks.numbers[here] {
            number = known
        } else {
            number = innermost + 1
            ifBlocks.numbers[here] = number
        }
        let isTest = app == .if || app == .elseIf
        if isTest && truthy(condition) {
            if ifBlocks.open[number] == nil { ifBlocks.open[number] = here }
            return .next
        }
        // A false test, or the end of a branch: leave, or go to the next branch.
        ifBlocks.open[number] = nil
        ifBlocks.numbers[here] = nil
        let end = app == .endIf ? here.priority : matching(ahead: "IF", "ENDIF", other: nil)
        if isTest, let elseIf = matching(ahead: "IF", "ENDIF", other: "ELSEIF"), end.map({ elseIf < $0 }) ?? false {
            return .jump(Position(context: here.context, exten: here.exten, priority: elseIf))
        }
        if isTest, let otherwise = matching(ahead: "IF", "ENDIF", other: "ELSE"), end.map({ otherwise < $0 }) ?? false {
            return .jump(Position(context: here.context, exten: here.exten, priority: otherwise + 1))
        }
        if let end { return .jump(Position(context: here.context, exten: here.exten, priority: end + 1)) }
        if app == .exitIf { warnings.append("\(located)ExitIf: no matching EndIf after it") }
        return .next
    }

    /// `While(condition)` … `EndWhile()`, and `ExitWhile()`.
    func whileLoop(_ app: Application, _ condition: String) -> Flow {
        let here = position
        let innermost = whileBlocks.innermost
        let number: Int
        if app != .while {
            number = innermost
        } else if let known = whileBlocks.numbers[here] {
            number = known
        } else {
            number = innermost + 1
            whileBlocks.numbers[here] = number
        }
        if (app == .while && !truthy(condition)) || app == .exitWhile {
            whileBlocks.open[number] = nil
            whileBlocks.numbers[here] = nil
            if let goto = whileBlocks.ends.removeValue(forKey: number) { return .jump(goto) }
            if let end = matching(ahead: "WHILE", "ENDWHILE", other: nil) {
                return .jump(Position(context: here.context, exten: here.exten, priority: end + 1))
            }
            warnings.append("\(located)\(app.rawValue): no matching EndWhile after it")
            return .next
        }
        if app == .while {
            if whileBlocks.open[number] == nil { whileBlocks.open[number] = here }
        } else if app == .endWhile, let start = whileBlocks.open[number] {
            if whileBlocks.ends[number] == nil {
                whileBlocks.ends[number] = Position(context: here.context, exten: here.exten, priority: here.priority + 1)
            }
            return .jump(start)
        }
        return .next
    }

    /// `ContinueWhile()`: back to the innermost While, which tests its condition again.
    func continueWhile() -> Flow {
        guard let start = whileBlocks.open[whileBlocks.innermost] else { return .next }
        return .jump(start)
    }

    /// The priority of the block's end (`other` nil) or of an `other` application at
    /// the block's own level, looking ahead from the current priority through the
    /// extension's next priorities, as Asterisk's find_matching_endif and
    /// find_matching_endwhile do. Nil when there is none.
    private func matching(ahead opener: String, _ closer: String, other: String?) -> Int? {
        var level = 1
        var number = position.priority
        // Each pass moves one priority on; a plan has finitely many.
        while number < Parser.maxPriority, let (_, priority) = lookup(Position(context: position.context, exten: position.exten, priority: number + 1)) {
            number += 1
            let name = priority.application.uppercased()
            if name == opener { level += 1 } else if name == closer { level -= 1 }
            if let other {
                if level == 1 && name == other { return number }
            } else if level == 0 {
                return number
            }
        }
        return nil
    }

    /// `file:line:column: ` of the step running, for warnings about it.
    var located: String { currentLocation.map { "\($0): " } ?? "" }
}
