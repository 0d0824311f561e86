import Foundation

/// The `omnigate run` service as a real process on loopback ports chosen by
/// the kernel (port 0), read back from its `ready` line.
public struct GatewayProcess {
    public let process: TestProcess
    public let directory: String
    public let udpPort: Int
    public let tcpPort: Int
    /// 0 when TLS is off.
    public let tlsPort: Int
    /// The HTTP API's port; 0 when it is off.
    public let apiPort: Int

    public var udpTarget: String { "127.0.0.1:\(udpPort)" }

    /// A trunk for test peers on loopback, entering the dialplan at `context`.
    public static func loopbackTrunk(context: String = "from-trunk", messageContext: String? = nil) -> String {
        "[trunk loopback]\nmatch = 127.0.0.1, ::1\ncontext = \(context)\n"
            + (messageContext.map { "message_context = \($0)\n" } ?? "")
    }

    /// A plan that answers any call to the loopback trunk's context and holds it.
    public static let answeringPlan = """
        [from-trunk]
        exten => _[a-z0-9+].,1,Answer()
         same => n,Wait(120)
        """

    /// Writes `config` (INI text; `[sip]` is added when absent) and the
    /// dialplan (Dialplans/extensions.conf) to a fresh directory, starts the
    /// service there and waits until it is ready.
    public static func start(config: String = "", dialplan: String = answeringPlan, files: [String: String] = [:],
                             arguments: [String] = [], environment: [String: String]? = nil) async throws -> GatewayProcess {
        let directory = try TestPaths.temporaryDirectory("gateway")
        var text = config
        // Each gateway its own RTP ports too: test gateways running side by side (in this process or
        // another) would otherwise all start at 10000 and take each other's.
        let rtp = "rtp_port_start = \(Ports.free(count: 200))\nrtp_port_range = 200\n"
        if !text.contains("[sip]") {
            text += "\n[sip]\nudp = 127.0.0.1:0\ntcp = 127.0.0.1:0\n" + rtp
        } else if !text.contains("rtp_port_start") {
            text = text.replacingOccurrences(of: "[sip]\n", with: "[sip]\n" + rtp)
        }
        // The HTTP API on a port of the kernel's choosing, unless the test says where.
        if !text.contains("[http]") { text += "\n[http]\nlisten = 127.0.0.1:0\n" }
        try text.write(toFile: directory + "/omnigate.conf", atomically: true, encoding: .utf8)
        var files = files
        if files["Dialplans/extensions.conf"] == nil { files["Dialplans/extensions.conf"] = dialplan }
        for (name, content) in files {
            let path = directory + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try content.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let process = try TestProcess(TestPaths.omnigate, ["run", "--config", directory + "/omnigate.conf"] + arguments,
                                      environment: environment, directory: directory)
        // The gateway's own line, in either log format (PJSIP's debug lines also say "ready").
        let json = arguments.contains("json") || config.contains("log_format = json")
        let ready = try await process.waitForLine(containing: json ? "\"subsystem\":\"omnigate\",\"message\":\"ready\"" : "omnigate: ready ",
                                                  timeout: .seconds(20))
        return GatewayProcess(process: process, directory: directory, udpPort: port(in: ready, transport: "udp"),
                              tcpPort: port(in: ready, transport: "tcp"), tlsPort: port(in: ready, transport: "tls"),
                              apiPort: port(in: ready, transport: "http"))
    }

    /// Stops the service with SIGTERM and returns its exit status.
    @discardableResult
    public func stop() async throws -> Int32 {
        process.signal(SIGTERM)
        return try await process.waitForExit(timeout: .seconds(20))
    }

    private static func port(in line: String, transport: String) -> Int {
        guard let range = line.range(of: "\(transport) 127.0.0.1:") else { return 0 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}
