import CCrypto
import Configuration
import Foundation

/// The API's tokens, known by their SHA-256 only: a stolen configuration
/// file does not give anyone a working token.
struct TokenBook: Sendable {
    private let byHash: [String: APIToken]

    init(_ tokens: [APIToken]) {
        byHash = Dictionary(tokens.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The token an `Authorization: Bearer …` header names, or nil.
    func token(authorization: String?) -> APIToken? {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return nil }
        let secret = authorization.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard !secret.isEmpty, secret.count <= 256 else { return nil }
        return byHash[Self.sha256(secret)]
    }

    /// The token with this SHA-256, while the configuration has it.
    func token(sha256: String) -> APIToken? { byHash[sha256] }

    /// SHA-256 of the text, lower-case hex.
    static func sha256(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(text.utf8)
        _ = omnigate_sha256(bytes, bytes.count, &digest)
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    /// A new random token: 32 bytes from the system's generator, URL-safe base64.
    static func newSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// `omnigate token new`'s work, public for the command.
public enum TokenMaker {
    /// A fresh token and the `[token NAME]` section that admits it.
    public static func make(name: String, role: APIToken.Role, agent: String?) -> (secret: String, section: String) {
        let secret = TokenBook.newSecret()
        var section = "[token \(name)]\nrole = \(role.rawValue)\nsha256 = \(TokenBook.sha256(secret))\n"
        if let agent { section += "agent = \(agent)\n" }
        return (secret, section)
    }
}
