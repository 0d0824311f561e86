import Foundation

/// Where Omnigate's files are.
///
/// In a clone, everything is relative to the working directory (`Config/`,
/// `Dialplans/`, `var/`), as the repository lays it out. Installed by
/// `scripts/install`, the binary reads `/etc/omnigate/omnigate.conf` when no
/// `--config` is given, and that file names the standard paths
/// (`/etc/omnigate/Dialplans`, `/var/lib/omnigate/…`); log lines go to stderr,
/// which systemd's journal keeps.
enum Layout {
    /// The configuration an installed Omnigate reads.
    static let installedConfig = "/etc/omnigate/omnigate.conf"

    /// The executable's own path (`/proc/self/exe`).
    static let executable: String = {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }()

    /// True for a binary that is not inside a SwiftPM build directory.
    static var isInstalled: Bool { !executable.contains("/.build/") }

    /// The configuration file used without `--config`: `$OMNIGATE_CONFIG` when set; else, for an
    /// installed binary, `/etc/omnigate/omnigate.conf` when it exists; else none (the built-in defaults).
    static var defaultConfigPath: String? {
        if let path = ProcessInfo.processInfo.environment["OMNIGATE_CONFIG"], !path.isEmpty { return path }
        return isInstalled && FileManager.default.fileExists(atPath: installedConfig) ? installedConfig : nil
    }
}
