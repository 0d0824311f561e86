import Foundation

/// A throwaway CA and a server certificate for 127.0.0.1, made with the
/// openssl command (Debian `openssl`), for TLS tests.
public struct TestCertificates {
    public let ca: String
    public let certificate: String
    public let privateKey: String

    public static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    public static func make(in directory: String) async throws -> TestCertificates {
        let run: ([String]) async throws -> Void = { arguments in
            let process = try TestProcess("/usr/bin/openssl", arguments, directory: directory)
            guard try await process.waitForExit(timeout: .seconds(60)) == 0 else {
                throw TestProcessError("openssl \(arguments.joined(separator: " ")) failed:\n\(process.stderr)")
            }
        }
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/san.cnf", atomically: true, encoding: .utf8)
        try await run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                       "-subj", "/CN=Omnigate Test CA"])
        try await run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"])
        try await run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                       "-out", "server.pem", "-days", "2", "-extfile", "san.cnf"])
        return TestCertificates(ca: directory + "/ca.pem", certificate: directory + "/server.pem", privateKey: directory + "/server.key")
    }
}
