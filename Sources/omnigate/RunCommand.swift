import Configuration

enum RunCommand: Command {
    static let name = "run"
    static let summary = "run the gateway"
    static let help = "Usage: omnigate run [--config PATH]\n"
    static func run(_ arguments: inout Arguments) throws -> Int32 { 0 }
}
