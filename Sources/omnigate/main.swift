// The `omnigate` executable: one binary for the service and the admin tools.
import Foundation

var arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
if CommandLine.arguments.dropFirst().first.map({ $0 == "--version" || $0 == "-V" }) == true {
    print(Version.text)
    exit(0)
}
guard let name = arguments.subcommand() else {
    print(topLevelHelp(), terminator: "")
    exit(arguments.wantsHelp ? 0 : 2)
}
guard let command = commands.first(where: { $0.name == name }) else {
    writeError("omnigate: unknown command '\(name)'\n\n" + topLevelHelp())
    exit(2)
}
do {
    exit(try command.run(&arguments))
} catch let error as UsageError {
    writeError("omnigate \(name): \(error)\nRun 'omnigate \(name) --help' for usage.")
    exit(2)
} catch {
    writeError("omnigate \(name): \(error)")
    exit(1)
}
