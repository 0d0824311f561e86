@testable import HTTPAPI
import Foundation
import Configuration
import Testing

@Suite("API tokens")
struct TokenTests {
    @Test("a token is known by its SHA-256 only; a new one comes with the section that admits it")
    func tokens() throws {
        #expect(TokenBook.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let (secret, section) = TokenMaker.make(name: "desk", role: .helpdesk, agent: nil)
        #expect(secret.count >= 43 && !secret.contains("/") && !secret.contains("+"))
        let config = try GatewayConfig.parse(section, file: "t.conf")
        let book = TokenBook(config.tokens)
        #expect(book.token(authorization: "Bearer \(secret)")?.name == "desk")
        #expect(book.token(authorization: "bearer \(secret)")?.role == .helpdesk)
        #expect(book.token(authorization: "Bearer \(secret)x") == nil)
        #expect(book.token(authorization: "Basic \(secret)") == nil)
        #expect(book.token(authorization: nil) == nil)
    }

    @Test("token sections are checked: the hash, the role, the agent a role agent acts as")
    func tokenSections() {
        func problems(_ text: String) -> String {
            do { _ = try GatewayConfig.parse(text, file: "t.conf"); return "" } catch { return "\(error)" }
        }
        #expect(problems("[token a]\nrole = helpdesk\n").contains("t.conf:1: error: [token a] needs 'sha256'"))
        #expect(problems("[token a]\nrole = boss\nsha256 = \(String(repeating: "a", count: 64))\n").contains("role"))
        #expect(problems("[token a]\nrole = agent\nsha256 = \(String(repeating: "a", count: 64))\n").contains("needs 'agent'"))
        #expect(problems("[token a]\nrole = agent\nagent = bob\nsha256 = \(String(repeating: "a", count: 64))\n").contains("which is not an [agent]"))
        #expect(problems("[token a]\nsha256 = abc\n").contains("64 hex digits"))
        #expect(problems("[http]\nlisten = somewhere\n").contains("host:port"))
    }
}

@Suite("the OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("it is JSON, and names exactly the routes the API serves, with their methods")
    func matchesRoutes() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPI.document.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        #expect(documented == Set(API.routes.map { "\($0.method) \($0.path)" }))
    }
}
