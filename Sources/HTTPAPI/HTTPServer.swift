import CMicroHTTPD
import Foundation
import Synchronization

/// A request as the API sees it: header names lower-cased, the body whole.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: [String: String]
    public var body: Data
    public var client: String

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: Data = Data(),
                client: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.client = client
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    /// A body written as it comes (an event stream), instead of `body`.
    var stream: (any StreamingBody)?

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A response body produced piece by piece on the connection's thread.
protocol StreamingBody: AnyObject, Sendable {
    /// The next bytes, at most `max` (waiting for them is allowed); nil ends the body.
    func next(max: Int) -> Data?
}

public struct HTTPServerError: Error, CustomStringConvertible {
    public let description: String
}

/// An HTTP server on libmicrohttpd: a thread per connection (bounded), so a
/// slow request never holds up another; each request is handed whole to
/// `handler` on its connection's thread. Bodies over `maxBody` get 413
/// without being read.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: `daemon` is set once before any request can arrive and only read after.
    private var daemon: OpaquePointer?
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let maxBody: Int
    private let stopped = Mutex(false)
    /// The port listened on (the kernel's pick for port 0).
    public private(set) var port = 0

    public init(host: String, port: UInt16, certificate: String? = nil, privateKey: String? = nil, maxConnections: Int = 256,
                connectionsPerAddress: Int = 32, maxBody: Int = 1 << 20,
                handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws {
        self.handler = handler
        self.maxBody = maxBody
        let cls = Unmanaged.passUnretained(self).toOpaque()
        let started = host.withCString { host in
            omnigate_http_start(host, port, certificate, privateKey, UInt32(maxConnections), UInt32(connectionsPerAddress), 30,
                                256 * 1024, { cls, connection, url, method, _, upload, uploadSize, request in
                                    guard let cls, let connection, let uploadSize, let request else { return .NO }
                                    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
                                    return server.access(connection, url: url, method: method, upload: upload, size: uploadSize, request: request)
                                }, { _, _, request, _ in
                                    // The request is over (answered, or the client went away): let its state go.
                                    guard let request, let pending = request.pointee else { return }
                                    Unmanaged<PendingRequest>.fromOpaque(pending).release()
                                    request.pointee = nil
                                }, cls)
        }
        guard let started else {
            throw HTTPServerError(description: "cannot listen for HTTP on \(host):\(port) (in use, not an address of this host, or bad TLS files)")
        }
        daemon = started
        self.port = Int(omnigate_http_port(started))
    }

    /// Runs first in `stop`: ends what keeps connections open (event streams).
    public var beforeStop: (@Sendable () -> Void)? {
        get { hooks.withLock { $0 } }
        set { hooks.withLock { $0 = newValue } }
    }
    private let hooks = Mutex<(@Sendable () -> Void)?>(nil)

    /// Closes the listening socket and every connection; returns once no handler runs.
    public func stop() {
        let first = stopped.withLock { done -> Bool in defer { done = true }; return !done }
        guard first, let daemon else { return }
        beforeStop?()
        MHD_stop_daemon(daemon)
    }

    deinit { stop() }

    final class StreamBox {
        let body: any StreamingBody
        init(_ body: any StreamingBody) { self.body = body }
    }

    /// One request's state while its body arrives.
    final class PendingRequest {
        var body = Data()
        var tooLarge = false
    }

    private func access(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                        upload: UnsafePointer<CChar>?, size: UnsafeMutablePointer<Int>, request: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        guard let pendingPointer = request.pointee else {
            // The headers are in: refuse a body announced too large before reading any of it.
            if let length = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length").flatMap({ Int(String(cString: $0)) }),
               length > maxBody {
                return queue(Problem.response(413, "Request body too large", "A body may be at most \(maxBody) bytes."), on: connection)
            }
            request.pointee = Unmanaged.passRetained(PendingRequest()).toOpaque()
            return .YES
        }
        let pending = Unmanaged<PendingRequest>.fromOpaque(pendingPointer).takeUnretainedValue()
        if size.pointee > 0 {
            if !pending.tooLarge, let upload {
                if pending.body.count + size.pointee > maxBody {
                    pending.tooLarge = true
                    pending.body = Data()
                } else {
                    pending.body.append(UnsafeRawPointer(upload).assumingMemoryBound(to: UInt8.self), count: size.pointee)
                }
            }
            size.pointee = 0
            return .YES
        }
        if pending.tooLarge {
            return queue(Problem.response(413, "Request body too large", "A body may be at most \(maxBody) bytes."), on: connection)
        }
        var client = [CChar](repeating: 0, count: 64)
        omnigate_http_client(connection, &client, client.count)
        let fullPath = url.map { String(cString: $0) } ?? "/"
        let request = HTTPRequest(method: method.map { String(cString: $0) } ?? "GET", path: fullPath,
                                  query: Self.values(connection, .GET_ARGUMENT_KIND, lowercased: false),
                                  headers: Self.values(connection, .HEADER_KIND, lowercased: true), body: pending.body,
                                  client: String(decoding: client.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return queue(handler(request), on: connection)
    }

    private func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
        let made: OpaquePointer?
        if let stream = response.stream {
            // The connection's thread asks for more as the client reads; the box lives until MHD frees the response.
            let box = Unmanaged.passRetained(StreamBox(stream)).toOpaque()
            made = MHD_create_response_from_callback(UInt64.max, 16 * 1024, { cls, _, buffer, max in
                guard let cls, let buffer else { return -1 }
                guard let data = Unmanaged<StreamBox>.fromOpaque(cls).takeUnretainedValue().body.next(max: max) else { return -1 }
                data.copyBytes(to: UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: data.count)
                return data.count
            }, box, { cls in
                if let cls { Unmanaged<StreamBox>.fromOpaque(cls).release() }
            })
        } else {
            made = response.body.withUnsafeBytes { bytes in
                MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
            }
        }
        guard let made else { return .NO }
        defer { MHD_destroy_response(made) }
        for (name, value) in response.headers { _ = MHD_add_response_header(made, name, value) }
        return MHD_queue_response(connection, UInt32(response.status), made)
    }

    /// Headers (or query arguments) of the request; for a repeated name, the first.
    private static func values(_ connection: OpaquePointer, _ kind: MHD_ValueKind, lowercased: Bool) -> [String: String] {
        final class Box { var values: [String: String] = [:]; var lowercased = false }
        let box = Box()
        box.lowercased = lowercased
        _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
            guard let cls, let key else { return .YES }
            let box = Unmanaged<Box>.fromOpaque(cls).takeUnretainedValue()
            let name = box.lowercased ? String(cString: key).lowercased() : String(cString: key)
            if box.values[name] == nil { box.values[name] = value.map { String(cString: $0) } ?? "" }
            return .YES
        }, Unmanaged.passUnretained(box).toOpaque())
        return box.values
    }
}
