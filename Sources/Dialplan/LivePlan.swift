import Foundation
import Synchronization

/// The plan a running service uses, reloaded all or nothing.
///
/// `reload()` (SIGHUP, or a change seen by `reloadIfChanged()`) reads and
/// checks the files; the new plan replaces the old one atomically only when it
/// has no errors, otherwise the old plan keeps running and the errors are
/// returned (each with file:line). Calls keep the `Dialplan` value they
/// started with, so a reload never changes a call in progress.
public final class LivePlan: Sendable {
    public struct Reload: Sendable {
        /// True when the new plan replaced the old one.
        public let applied: Bool
        public let diagnostics: [Diagnostic]
    }

    private struct State {
        var plan: Dialplan
        var globals: Globals
        var stamps: [String: Stamp]
    }

    public let paths: [String]
    public let mode: DialplanMode
    /// What the first load found wrong but let through (warnings), for the service to list.
    public let warnings: [Diagnostic]
    private let state: Mutex<State>

    /// Loads the plan; fails with its diagnostics when it has errors.
    public init(paths: [String], mode: DialplanMode = .strict) throws(LoadFailure) {
        self.paths = paths
        self.mode = mode
        let load = DialplanLoader.load(paths: paths, mode: mode)
        guard let plan = load.plan else { throw LoadFailure(diagnostics: load.diagnostics) }
        warnings = load.diagnostics.warnings
        state = Mutex(State(plan: plan, globals: Globals(plan), stamps: LivePlan.stamps(paths, plan.files)))
    }

    /// The current plan and its globals (a call keeps the pair it started with).
    public var current: (plan: Dialplan, globals: Globals) { state.withLock { ($0.plan, $0.globals) } }

    /// Reads the files again and swaps the plan in only when it has no errors.
    public func reload() -> Reload {
        let load = DialplanLoader.load(paths: paths, mode: mode)
        guard let plan = load.plan else {
            // Remember what was seen, so a broken file is reported once, not on every poll.
            state.withLock { $0.stamps = LivePlan.stamps(paths, $0.plan.files) }
            return Reload(applied: false, diagnostics: load.diagnostics)
        }
        state.withLock { state in
            state.plan = plan
            state.globals.reload(from: plan)  // one set of globals for old and new calls, as in Asterisk
            state.stamps = LivePlan.stamps(paths, plan.files)
        }
        return Reload(applied: true, diagnostics: load.diagnostics)
    }

    /// Reloads when a file changed (modification time, or files added or removed); nil when nothing changed.
    public func reloadIfChanged() -> Reload? {
        let changed = state.withLock { state in LivePlan.stamps(paths, state.plan.files) != state.stamps }
        return changed ? reload() : nil
    }

    /// What is compared between polls: a file's modification time and size.
    private struct Stamp: Equatable {
        var modified: Date
        var size: Int
    }

    /// Modification times and sizes of the plan's files and of the given paths' .conf files.
    private static func stamps(_ paths: [String], _ files: [String]) -> [String: Stamp] {
        var all = Set(files)
        for path in paths {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasSuffix(".conf") {
                    all.insert((path as NSString).appendingPathComponent(name))
                }
            } else {
                all.insert(path)
            }
        }
        var result: [String: Stamp] = [:]
        for file in all {
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            result[file] = Stamp(modified: attributes?[.modificationDate] as? Date ?? .distantPast,
                                 size: (attributes?[.size] as? NSNumber)?.intValue ?? -1)
        }
        return result
    }
}

/// A plan that could not be loaded, with why.
public struct LoadFailure: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
