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
    static func sha256(_ text: String) -> String { Secrets.hex(text, omnigate_sha256, bytes: 32) }

    /// A new random token (URL-safe base64 of 32 random bytes).
    static func newSecret() -> String { Secrets.random() }
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

/// The API's secrets, in one place: tokens and session ids from OpenSSL's
/// generator, digests in lower-case hex, comparisons in constant time.
enum Secrets {
    /// 32 bytes from OpenSSL's RAND_bytes, URL-safe base64 without padding (43 characters).
    static func random() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        // RAND_bytes "returns 1 on success, -1 if not supported by the current RAND method, or 0 on other failure"
        // (https://docs.openssl.org/3.0/man3/RAND_bytes/): without randomness there can be no secret.
        guard RAND_bytes(&bytes, 32) == 1 else { fatalError("RAND_bytes failed: OpenSSL has no randomness to give") }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A digest of the text's UTF-8, in lower-case hex.
    static func hex(_ text: String, _ digest: (UnsafeRawPointer?, Int, UnsafeMutablePointer<UInt8>?) -> Int32, bytes: Int) -> String {
        var out = [UInt8](repeating: 0, count: bytes)
        let input = Array(text.utf8)
        _ = digest(input, input.count, &out)
        return out.map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two secrets in time that does not depend on where they differ (OpenSSL's CRYPTO_memcmp).
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        return x.count == y.count && CRYPTO_memcmp(x, y, x.count) == 0
    }
}
