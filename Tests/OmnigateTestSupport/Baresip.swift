import Foundation

/// baresip (Debian `baresip-core`), a real softphone, as an agent that answers
/// on its own: it plays `source` as what the agent says, and its sndfile
/// module writes what it hears to `dump-…-dec.wav` in its directory (the
/// aufile module of baresip 1.0 only reads files).
public struct BaresipAgent {
    public let process: TestProcess
    public let directory: String
    public let port: Int
    public let user: String

    public var contact: String { "sip:\(user)@127.0.0.1:\(port)" }
    /// The WAV file of what the agent heard, once a call has started.
    public var heardPath: String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.first { $0.hasSuffix("-dec.wav") }.map { directory + "/" + $0 }
    }

    /// Starts baresip listening on a free loopback port with one auto-answering account.
    public static func start(user: String = "agent1", source: String) async throws -> BaresipAgent {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/baresip") else {
            throw TestProcessError("baresip is not installed (scripts/setup.sh installs baresip-core)")
        }
        let directory = try TestPaths.temporaryDirectory("baresip")
        let port = Ports.free(count: 2)  // baresip also listens for TLS on the next port
        let config = """
        sip_listen 127.0.0.1:\(port)
        module_path /usr/lib/baresip/modules
        module g711.so
        module aufile.so
        module sndfile.so
        snd_path \(directory)
        module_app account.so
        module_app contact.so
        module_app menu.so
        audio_source aufile,\(source)
        """
        try config.write(toFile: directory + "/config", atomically: true, encoding: .utf8)
        try "<sip:\(user)@127.0.0.1>;regint=0;answermode=auto\n"
            .write(toFile: directory + "/accounts", atomically: true, encoding: .utf8)
        let process = try TestProcess("/usr/bin/baresip", ["-f", directory])
        try await process.waitForLine(containing: "baresip is ready.", timeout: .seconds(15))
        return BaresipAgent(process: process, directory: directory, port: port, user: user)
    }

    /// Stops baresip with SIGTERM (it closes heard.wav), or kills it after 5 s.
    public func stop() async {
        process.signal(SIGTERM)
        _ = try? await process.waitForExit(timeout: .seconds(5))
    }
}
