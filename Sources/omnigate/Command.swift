import Foundation

/// A top-level `omnigate` command. Each lives in its own file, named for it.
protocol Command {
    /// The word that selects it: `omnigate NAME …`.
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text.
    static var help: String { get }
    /// Runs the command and returns the process exit status.
    static func run(_ arguments: inout Arguments) throws -> Int32
}

/// Every command, in the order `omnigate --help` lists them.
var commands: [any Command.Type] { [
    RunCommand.self,
    DialplanCommand.self,
    ImportCommand.self,
    CallsCommand.self,
    LookupCommand.self,
    RenormalizeCommand.self,
    DemoDataCommand.self,
    TokenCommand.self,
] }

func writeError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

func topLevelHelp() -> String {
    var text = """
    omnigate: the phone side of an omnichannel contact center.

    Usage: omnigate COMMAND [OPTIONS]

    Commands:

    """
    let width = commands.map { $0.name.count }.max() ?? 0
    for command in commands {
        text += "  \(command.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(command.summary)\n"
    }
    text += "\nOptions:\n  --version     print Omnigate's version and the PJSIP and SQLite it runs on\n"
    text += "\nRun 'omnigate COMMAND --help' for a command's options.\n"
    return text
}
