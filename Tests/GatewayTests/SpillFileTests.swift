import Foundation
@testable import Gateway
import OmnigateTestSupport
import Testing
import Timeline

/// The spill file: reserved up front, appended and synced, read back in order,
/// a write cut short by a crash ignored, zeroed in place once replayed.
@Suite("the spill file")
struct SpillFileTests {
    static func record(_ n: Int) -> StoreWrite {
        var record = CallRecord(uniqueid: "pbx-run-\(n)", start: Date(timeIntervalSince1970: 1_796_000_000 + Double(n)))
        record.src = "+12025550142"
        record.clid = "\"Ada\" <+12025550142>"
        record.disposition = "ANSWERED"
        return .finalizeCall(record)
    }

    @Test("writes come back in order after a restart; a last line cut short is dropped; clearing keeps the reservation")
    func roundTrip() throws {
        let directory = try TestPaths.temporaryDirectory("spill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/store.sqlite.spill"
        do {
            let spill = SpillFile(path: path, capacity: 64 << 10)
            #expect(spill.problem == nil && spill.size == 64 << 10 && spill.isEmpty)
            #expect(spill.append((0..<10).map(Self.record)[...]) == 10)
        }
        // A crash in the middle of the next append leaves part of a line.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let end = Data(try String(contentsOfFile: path, encoding: .utf8).prefix { $0 != "\u{0}" }.utf8).count
        try handle.seek(toOffset: UInt64(end))
        handle.write(Data("{\"v\":1,\"write\":{\"finalizeCall".utf8))
        try handle.close()

        let reopened = SpillFile(path: path, capacity: 64 << 10)
        #expect(reopened.count == 10)
        #expect(reopened.entries() == (0..<10).map(Self.record))
        #expect(reopened.append([Self.record(10)][...]) == 1)
        #expect(reopened.entries().last == Self.record(10) && reopened.count == 11)
        reopened.clear()
        #expect(reopened.isEmpty && reopened.entries().isEmpty && reopened.size == 64 << 10)
        #expect(SpillFile(path: path, capacity: 64 << 10).isEmpty, "nothing comes back after a clear")
    }

    @Test("gateways sharing a spill directory each take a file of their own; one that starts later takes in what a gone one left")
    func oneFileEach() async throws {
        // Off the concurrency pool: taking a held file waits a moment for it, nine times over.
        try await onOwnThread { try self.takeOwnFiles() }
    }

    private func takeOwnFiles() throws {
        let directory = try TestPaths.temporaryDirectory("spill-shared")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/store.sqlite.spill"
        var first: SpillFile? = SpillFile.take(path: path, capacity: 64 << 10)
        let second = SpillFile.take(path: path, capacity: 64 << 10)
        #expect(first?.path == path && second.path == path + ".2", "the first is held (locked) while it is open")
        #expect(second.append((0..<3).map(Self.record)[...]) == 3)
        #expect(first?.adoptOrphans(of: path) == 0, "a running gateway's file is left alone")
        // The first gateway stops; the second is killed with its writes in its file.
        first = nil
        let killed = second.path
        _ = consume second
        let next = SpillFile.take(path: path, capacity: 64 << 10)
        #expect(next.path == path)
        #expect(next.adoptOrphans(of: path) == 3)
        #expect(next.entries() == (0..<3).map(Self.record))
        #expect(SpillFile(path: killed, capacity: 0).isEmpty, "moved, not copied")
        // Eight held: the ninth gateway has none, and says why.
        let held = (0..<7).map { _ in SpillFile.take(path: path, capacity: 4096) }
        let none = SpillFile.take(path: path, capacity: 4096)
        #expect(held.map(\.path) == SpillFile.names(path).dropFirst().map { $0 })
        #expect(none.heldByAnother && none.problem?.contains("give each gateway its own [store] spill directory") == true)
        _ = first
    }

    @Test("a full spill file takes what fits and says so")
    func full() throws {
        let directory = try TestPaths.temporaryDirectory("spill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.spill"
        let spill = SpillFile(path: path, capacity: 4096)
        let taken = spill.append((0..<100).map(Self.record)[...])
        #expect(taken > 0 && taken < 100)
        #expect(spill.problem == "the spill file \(path) is full (4096 bytes)")
        #expect(spill.entries() == (0..<taken).map(Self.record))
        spill.clear()
        #expect(spill.problem == nil)
    }
}
