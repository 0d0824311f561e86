import Configuration
import Foundation
import HTTPAPI

/// `omnigate token new`: a fresh API token and the `[token]` section that admits it.
enum TokenCommand: Command {
    static let name = "token"
    static let summary = "make an API token for the HTTP API"
    static let help = """
    Usage: omnigate token new NAME [--role ROLE] [--agent AGENT]

    Prints a new random token on standard output, and on standard error the
    [token NAME] section to add to the configuration. The configuration keeps
    only the token's SHA-256: give the token to whoever calls the API (as
    'Authorization: Bearer TOKEN'); it cannot be read back. It works after the
    next SIGHUP (or restart); a [token] taken out stops working the same way.
    docs/api.md lists what each role may do.

    Options:
      --role ROLE     admin, supervisor, agent, helpdesk (the default) or integration
      --agent AGENT   for role agent: the agent the token acts as
      --help          show this help

    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if arguments.wantsHelp { print(help, terminator: ""); return 0 }
        let roleName = try arguments.option("role") ?? "helpdesk"
        let agent = try arguments.option("agent")
        let words = arguments.positionals()
        try arguments.finish()
        guard words.count == 2, words[0] == "new" else { throw UsageError("say: omnigate token new NAME") }
        guard let role = APIToken.Role(rawValue: roleName) else {
            throw UsageError("--role takes \(APIToken.Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (role == .agent) == (agent != nil) else { throw UsageError("--agent goes with --role agent, and only with it") }
        guard words[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw UsageError("a token name is letters, digits, '-', '_' or '.'")
        }
        let made = TokenMaker.make(name: words[1], role: role, agent: agent)
        print(made.secret)
        writeError("Add to the configuration (the token itself is printed once, above):\n\n" + made.section)
        return 0
    }
}
