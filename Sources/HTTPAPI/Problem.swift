import Foundation

/// Error bodies as RFC 9457 problem details (`application/problem+json`).
enum Problem {
    static func response(_ status: Int, _ title: String, _ detail: String, extra: [String: Any] = [:],
                         headers: [(String, String)] = []) -> HTTPResponse {
        var document: [String: Any] = ["type": "about:blank", "title": title, "status": status, "detail": detail]
        for (key, value) in extra { document[key] = value }
        let body = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
        return HTTPResponse(status: status, headers: [("Content-Type", "application/problem+json")] + headers, body: body)
    }
}

/// JSON responses.
enum JSONResponse {
    static func make(_ object: Any, status: Int = 200) -> HTTPResponse {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// Already-encoded JSON text.
    static func raw(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Data(text.utf8))
    }
}
