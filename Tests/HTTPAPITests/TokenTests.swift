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
        #expect(problems("[http]\nallowed_origins = crm.example.com\n").contains("origins such as https://"))
        #expect(problems("[http]\ntls_certificate = /x.pem\n").contains("both tls_certificate and tls_private_key"))
        #expect(problems("[http]\nwebhook_history = 10m\n").contains("t.conf:2: error: bad value '10m' for 'webhook_history' in [http]: expected a duration of at least 1h"),
                "\(problems("[http]\nwebhook_history = 10m\n"))")
        #expect(problems("[http]\nwebhook_history = 3d\n").isEmpty)
        #expect((try? GatewayConfig.parse("[http]\nwebhook_history = 36h\n", file: "t.conf"))?.http.webhookHistory == .seconds(36 * 3600))
    }

    @Test("webhook, agent, queue and screen-pop settings of this change refuse bad values with file:line")
    func newSettings() {
        func problems(_ text: String) -> String {
            do { _ = try GatewayConfig.parse(text, file: "t.conf"); return "" } catch { return "\(error)" }
        }
        #expect(problems("[webhook w]\nurl = http://127.0.0.1:9/h\n").contains("t.conf:1: error: [webhook w] needs 'url' and 'secret'"))
        #expect(problems("[webhook w]\nurl = ftp://x\nsecret = 0123456789abcdef\n").contains("t.conf:2:"))
        #expect(problems("[webhook w]\nurl = http://x/h\nsecret = short\n").contains("at least 16 characters"))
        #expect(problems("[webhook w]\nurl = http://x/h\nsecret = 0123456789abcdef\nevents = call.ended, call.exploded\n")
            .contains("t.conf:4:"))
        #expect(problems("[webhook w]\nurl = http://x/h\nsecret = 0123456789abcdef\nretry_for = forever\n").contains("duration"))
        #expect(problems("[agent a]\nmessage_context = two words\n").contains("t.conf:2:"))
        #expect(problems("[queue q]\njoinempty = sometimes\n").contains("t.conf:2:"))
        #expect(problems("[queue q]\nannounce_frequency = often\n").contains("t.conf:2:"))
        #expect(problems("[queue q]\nmaxlen = -1\n").contains("t.conf:2:"))
        #expect(problems("[screenpop]\nconversation_window = a while\n").contains("t.conf:2:"))
        #expect(problems("[screenpop]\nconsole_wait = 10s\n").contains("t.conf:2: error: bad value '10s' for 'console_wait' in [screenpop]: expected a duration from 0 to 5s"))
        #expect(problems("[webhook w]\nurl = http://x/h\nsecret = 0123456789abcdef\nevents = sms.received, agent.state_changed\n") == "")
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
