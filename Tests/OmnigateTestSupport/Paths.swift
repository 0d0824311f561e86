import Foundation
import Synchronization

/// Where things are when tests run.
public enum TestPaths {
    /// The package root (the directory holding Package.swift).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The directory of the built products (the test runner lives there too).
    public static let productsDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The runner may sit inside an .xctest bundle directory.
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// The built `omnigate` executable.
    public static var omnigate: String { productsDirectory + "/omnigate" }

    /// SIPp scenario files, shared by the SIP tests.
    public static func scenario(_ name: String) -> String { packageRoot + "/Tests/Scenarios/" + name }

    /// `../shared` beside the clone, when present (CI has it; a fresh clone may not).
    public static var shared: String? {
        let path = (packageRoot as NSString).deletingLastPathComponent + "/shared"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// A fresh temporary directory, removed by the caller, or at the latest when the
    /// test process exits (`OMNIGATE_KEEP_TEST_DIRS=1` keeps them to look at): a full
    /// run makes hundreds, and they piled up in /tmp run after run.
    public static func temporaryDirectory(_ prefix: String = "omnigate-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        created.withLock { directories in
            if directories.isEmpty && ProcessInfo.processInfo.environment["OMNIGATE_KEEP_TEST_DIRS"] != "1" {
                atexit { TestPaths.removeCreated() }
            }
            directories.append(path)
        }
        return path
    }

    private static let created = Mutex<[String]>([])

    private static func removeCreated() {
        for path in created.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
}
