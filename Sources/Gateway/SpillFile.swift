import Foundation
import Timeline

/// Where writes go when the store stays unwritable: a small file, its space
/// reserved when the gateway starts (`posix_fallocate`), so it can take writes
/// on the very disk the store has filled.
///
/// Each write is one JSON line (`{"v":1,"write":…}`), appended and synced
/// (`fdatasync`) before it counts as spilled; the reserved space reads as zero
/// bytes, so the first NUL ends the entries. Replaying is applying them to the
/// store (every write is idempotent, so a replay cut short is simply repeated),
/// then zeroing the used part in place: the reservation is kept.
///
/// Not thread-safe: only the store writer's thread uses it.
final class SpillFile {
    let path: String
    private let capacity: Int64
    private var fd: Int32 = -1
    /// Bytes of entries, from the start of the file.
    private(set) var used: Int64 = 0
    /// Entries in the file (read at open, then counted).
    private(set) var count = 0
    /// Why the file cannot take writes now, when it cannot.
    private(set) var problem: String?
    /// Another process holds the file (another gateway given the same spill directory).
    private(set) var heldByAnother = false

    init(path: String, capacity: Int64) {
        self.path = path
        self.capacity = capacity
        reserve()
        if fd >= 0 { (used, count) = scan() }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Names a gateway may spill to: `path`, then `path.2` … `path.8` for gateways that share a
    /// store and a spill directory on one host (two gateways on one SQLite file).
    static func names(_ path: String) -> [String] { [path] + (2...8).map { "\(path).\($0)" } }

    /// The first of `names(path)` no running gateway holds (each holds its own, locked, for as
    /// long as it runs); when every one is held, the last, with its problem.
    static func take(path: String, capacity: Int64) -> SpillFile {
        var file = SpillFile(path: path, capacity: capacity)
        for name in names(path).dropFirst() where file.heldByAnother {
            file = SpillFile(path: name, capacity: capacity)
        }
        return file
    }

    /// Moves into this file the writes left in the other `names` by gateways that are gone (a
    /// file no one holds): they are for the same store, and every write is idempotent. A file
    /// is emptied only once all its writes are in this one. Returns how many moved.
    func adoptOrphans(of path: String) -> Int {
        var moved = 0
        for name in Self.names(path) where name != self.path && FileManager.default.fileExists(atPath: name) {
            let other = SpillFile(path: name, capacity: 0)
            guard !other.heldByAnother, !other.isEmpty else { continue }
            let writes = other.entries()
            let taken = append(writes[...])
            moved += taken
            if taken == writes.count { other.clear() }
        }
        return moved
    }

    var isEmpty: Bool { count == 0 }

    /// Opens the file and reserves its space; on failure records the problem and retries on the next call.
    func reserve() {
        guard fd < 0 else { return }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard opened >= 0 else { problem = "cannot open \(path): \(String(cString: strerror(errno)))"; return }
        // One process a file: two gateways appending to one file would each replay the other's writes.
        // A lock is also held for a moment by a child this process forks (until it execs), so a
        // held lock is tried again for up to 0.1 s before the file counts as another gateway's.
        var locked = flock(opened, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<10 where !locked && errno == EWOULDBLOCK {
            usleep(10_000)
            locked = flock(opened, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            heldByAnother = errno == EWOULDBLOCK
            problem = heldByAnother ? "another gateway running on this host uses the spill file \(path); give each gateway its own [store] spill directory"
                : "cannot lock \(path): \(String(cString: strerror(errno)))"
            close(opened)
            return
        }
        var info = stat()
        fstat(opened, &info)
        if Int64(info.st_size) < capacity {
            let status = posix_fallocate(opened, 0, off_t(capacity))
            if status != 0 {
                problem = "cannot reserve \(capacity) bytes for \(path): \(String(cString: strerror(status)))"
                close(opened)
                return
            }
        }
        fd = opened
        problem = nil
    }

    /// The space the file holds (its reservation, or more if an earlier run reserved more).
    var size: Int64 {
        guard fd >= 0 else { return 0 }
        var info = stat()
        fstat(fd, &info)
        return Int64(info.st_size)
    }

    /// Appends as many of `writes` as fit, synced; returns how many did (a prefix).
    func append(_ writes: ArraySlice<StoreWrite>) -> Int {
        reserve()
        guard fd >= 0 else { return 0 }
        let room = size
        var bytes = Data()
        var taken = 0
        let encoder = JSONEncoder()
        for write in writes {
            guard var line = try? encoder.encode(SpillEntry(v: 1, write: write)) else { continue }
            line.append(0x0A)
            guard used + Int64(bytes.count + line.count) <= room else { break }
            bytes.append(line)
            taken += 1
        }
        guard taken > 0 else {
            problem = "the spill file \(path) is full (\(room) bytes)"
            return 0
        }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(used)) }
        guard written == bytes.count, fdatasync(fd) == 0 else {
            problem = "cannot write the spill file \(path): \(String(cString: strerror(errno)))"
            // Whatever part reached the file ends in a NUL-free partial line that `scan` skips; zero it.
            zero(from: used, count: Int64(bytes.count))
            return 0
        }
        used += Int64(bytes.count)
        count += taken
        problem = taken < writes.count ? "the spill file \(path) is full (\(room) bytes)" : nil
        return taken
    }

    /// Every write in the file, oldest first.
    func entries() -> [StoreWrite] {
        guard fd >= 0, used > 0 else { return [] }
        var data = Data(count: Int(used))
        let read = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(used), 0) }
        guard read == Int(used) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(SpillEntry.self, from: Data($0)).write }
    }

    /// Forgets every entry (after they were committed): zeroes them in place and syncs.
    func clear() {
        guard fd >= 0, used > 0 else { return }
        zero(from: 0, count: used)
        used = 0
        count = 0
        problem = nil
    }

    private func zero(from offset: Int64, count: Int64) {
        let zeros = [UInt8](repeating: 0, count: Int(min(count, 1 << 20)))
        var at = offset
        while at < offset + count {
            let n = Int(min(Int64(zeros.count), offset + count - at))
            if pwrite(fd, zeros, n, off_t(at)) != n { break }
            at += Int64(n)
        }
        fdatasync(fd)
    }

    /// The bytes and entries before the first NUL; a last line without its newline (a write cut short) is not counted.
    private func scan() -> (Int64, Int) {
        var offset: Int64 = 0
        var end: Int64 = 0
        var lines = 0
        var lastNewline: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        scanning: while true {
            let n = pread(fd, &buffer, buffer.count, off_t(offset))
            guard n > 0 else { break }
            for i in 0..<n {
                if buffer[i] == 0 { end = offset + Int64(i); break scanning }
                if buffer[i] == 0x0A { lines += 1; lastNewline = offset + Int64(i) + 1 }
            }
            offset += Int64(n)
            end = offset
        }
        if lastNewline < end { zero(from: lastNewline, count: end - lastNewline) }
        return (lastNewline, lines)
    }
}

/// One line of the spill file.
private struct SpillEntry: Codable {
    var v: Int
    var write: StoreWrite
}
