// Test support: real faults for the store. A filesystem that fills (a small
// tmpfs), a file-size limit set on a running process, a file made immutable.
// Each facility is probed once; tests that need one are disabled with a
// message saying why when it is missing, never failed.

import Foundation

/// What this machine lets the tests do, probed once.
public enum Facilities {
    /// A tmpfs can be mounted (root with CAP_SYS_ADMIN).
    public static let canMountTmpfs: Bool = {
        guard let mount = try? Tmpfs(size: "1m") else { return false }
        mount.unmount()
        return true
    }()

    /// `chattr +i` works on files in the temporary directory (root, and a filesystem with the flag, such as ext4).
    public static let canMakeImmutable: Bool = {
        guard let directory = try? TestPaths.temporaryDirectory("chattr") else { return false }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/probe"
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        guard run("/usr/bin/chattr", ["+i", file]) == 0 else { return false }
        let refused = FileHandle(forWritingAtPath: file) == nil
        _ = run("/usr/bin/chattr", ["-i", file])
        return refused
    }()

    /// `prlimit` can change another process's limits (util-linux, root).
    public static let canSetLimits: Bool = {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") && getuid() == 0
    }()

    /// `systemd-analyze` is installed.
    public static let hasSystemdAnalyze = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")

    /// Runs a command to completion (a short system tool) and returns its exit status.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        guard let process = try? TestProcess(executable, arguments) else { return -1 }
        return process.waitForExitBlocking(timeout: .seconds(60))
    }
}

/// A tmpfs of a given size mounted on a fresh directory: a disk that fills.
public struct Tmpfs {
    public let path: String

    /// Mounts it; `size` as mount(8) takes it (`4m`).
    public init(size: String) throws {
        path = try TestPaths.temporaryDirectory("tmpfs")
        guard Facilities.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path]) == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw TestProcessError("cannot mount a tmpfs on \(path)")
        }
    }

    /// Gives it a new size: a larger one frees space at once.
    public func resize(_ size: String) throws {
        guard Facilities.run("/bin/mount", ["-o", "remount,size=\(size)", path]) == 0 else {
            throw TestProcessError("cannot resize the tmpfs on \(path) to \(size)")
        }
    }

    /// Fills what is free with one file of zeros; returns its size.
    @discardableResult
    public func fill(name: String = "filler") -> Int {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            let n = write(fd, block, block.count)
            if n <= 0 { break }
            total += n
        }
        return total
    }

    /// Bytes free now.
    public var free: Int {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Unmounts it (lazily, so a process still holding a file cannot keep it) and removes the directory.
    public func unmount() {
        _ = Facilities.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension TestProcess {
    /// Sets this process's file-size limit (RLIMIT_FSIZE) in bytes, or nil for none, with prlimit(1).
    public func limitFileSize(_ bytes: Int?) throws {
        let soft = bytes.map(String.init) ?? "unlimited"
        // The soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE.
        guard Facilities.run("/usr/bin/prlimit", ["--pid", String(pid), "--fsize=\(soft):unlimited"]) == 0 else {
            throw TestProcessError("prlimit --pid \(pid) --fsize=\(soft):unlimited failed")
        }
    }

    /// How many lines of stderr contain `text` now.
    public func count(_ text: String) -> Int {
        stderr.components(separatedBy: "\n").filter { $0.contains(text) }.count
    }

    /// Waits until `count(text)` reaches `n`.
    public func waitForCount(_ text: String, atLeast n: Int, timeout: Duration = .seconds(30)) async throws {
        try await waitForLine(containing: text, occurrence: n, timeout: timeout)
    }
}
