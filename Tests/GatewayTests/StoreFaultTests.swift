import Foundation
import OmnigateTestSupport
import Testing
@testable import Timeline

/// The store's bad day, with real faults under real SIPp load on the real
/// `omnigate` process: a filesystem that fills, a disk full at start, an I/O
/// error window, the `-shm` file made unwritable, the store deleted. In each,
/// once the fault clears, every call SIPp completed has its record.
@Suite("call records on the store's bad day", .serialized)
struct StoreFaultTests {
    /// Answers and holds until the caller (SIPp) hangs up.
    static let plan = "[from-trunk]\nexten => _X.,1,Answer()\n same => n,Wait(60)\n"

    static func config(store: String, extra: String = "") -> String {
        GatewayProcess.loopbackTrunk() + "[store]\npath = \(store)\nspill_after = 1s\n" + extra
    }

    /// SIPp calling at `rate` calls a second, each held 200 ms and hung up by the caller.
    static func load(_ gateway: GatewayProcess, calls: Int, rate: Int) throws -> (TestProcess, String) {
        try SIPp.start("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                       arguments: ["-m", String(calls), "-r", String(rate), "-l", "40", "-d", "200", "-s", "100"],
                       timeout: .seconds(120))
    }

    /// Waits until the gateway has taken `n` calls; fails with SIPp's output if SIPp gave up first.
    static func waitForCalls(_ gateway: GatewayProcess, _ sipp: TestProcess, _ n: Int) async throws {
        do {
            try await gateway.process.waitForLine(containing: "call in ", occurrence: n, timeout: .seconds(30))
        } catch {
            throw TestProcessError("\(error)\nSIPp \(sipp.isRunning ? "still runs" : "exited"):\n\(sipp.stdout.suffix(2000))\(sipp.stderr.suffix(2000))")
        }
    }

    /// Most of the calls completed: a few may fail on a loaded machine for reasons that are not the
    /// fault under test (each is still counted: the records must equal the calls completed).
    static func mostlyCompleted(_ result: SIPp.Result, of calls: Int) -> Bool {
        result.successful + result.failed == calls && result.failed * 50 <= calls
    }

    /// Ended call records in the store, read as helpdesks do (`omnigate calls`).
    static func records(_ store: String) async throws -> [[String: Any]] {
        try await CallFlow.callRecords(store)
    }

    /// Stops the gateway and checks it stopped cleanly, having lost nothing.
    static func stopLosingNothing(_ gateway: GatewayProcess) async throws {
        #expect(try await gateway.stop() == 0)
        let summary = try #require(gateway.process.stderr.split(separator: "\n").last { $0.contains("store writes at stop") })
        #expect(summary.contains("records.lost=0 records.held=0 records.in_spill=0"), "\(summary)")
    }

    @Test("a filesystem that fills under load: records wait in memory and the spill file, and all land once space is freed",
          .enabled(if: Facilities.canMountTmpfs, "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)"))
    func filesystemFills() async throws {
        let disk = try Tmpfs(size: "16m")
        defer { disk.unmount() }
        let store = disk.path + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,phone\nc1,Ada,+12025550142\n")
        let gateway = try await GatewayProcess.start(config: Self.config(store: store, extra: "spill_size = 2MB\n"), dialplan: Self.plan)
        let (sipp, directory) = try Self.load(gateway, calls: 120, rate: 20)
        try await Self.waitForCalls(gateway, sipp, 20)
        #expect(disk.fill() > 0)
        try await gateway.process.waitForLine(containing: "the store cannot be written: writes are held", timeout: .seconds(30))
        try await gateway.process.waitForLine(containing: "call records spilled to the spill file", timeout: .seconds(30))
        let result = try await SIPp.finish(sipp, directory: directory, timeout: .seconds(120))
        #expect(Self.mostlyCompleted(result, of: 120), "\(result.summary)")
        try disk.resize("64m")
        try await gateway.process.waitForLine(containing: "spill file replayed into the store", timeout: .seconds(30))
        try await Self.stopLosingNothing(gateway)
        #expect(try await Self.records(store).count == result.successful)
    }

    @Test("a gateway started on a full disk takes calls, and their records land once space is freed",
          .enabled(if: Facilities.canMountTmpfs, "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)"))
    func startsOnFullDisk() async throws {
        let disk = try Tmpfs(size: "8m")
        defer { disk.unmount() }
        let store = disk.path + "/store.sqlite"
        try await CallFlow.fillStore(store, contacts: "id,name,phone\nc1,Ada,+12025550142\n")
        let config = Self.config(store: store, extra: "spill_size = 1MB\n")
        // A first run reserves the spill file; then the disk fills while the gateway is down.
        let first = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        #expect(try await first.stop() == 0)
        #expect(disk.fill() > 0)
        #expect(disk.free < 64 << 10)

        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "30", "-r", "10", "-d", "200", "-s", "100"])
        #expect(Self.mostlyCompleted(result, of: 30), "\(result.summary)")
        try await gateway.process.waitForLine(containing: "call records spilled to the spill file", timeout: .seconds(30))
        try disk.resize("32m")
        try await gateway.process.waitForLine(containing: "spill file replayed into the store", timeout: .seconds(30))
        try await Self.stopLosingNothing(gateway)
        #expect(try await Self.records(store).count == result.successful)
    }

    @Test("an I/O error window (writes fail with EFBIG under a file-size limit): records wait in memory, then land",
          .enabled(if: Facilities.canSetLimits, "prlimit is missing or the tests do not run as root"))
    func ioErrorWindow() async throws {
        let directory = try TestPaths.temporaryDirectory("ioerror")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        let (sipp, sippDirectory) = try Self.load(gateway, calls: 150, rate: 15)
        try await Self.waitForCalls(gateway, sipp, 15)
        // Every write past the first byte of any file fails, the spill file's included: memory only.
        try gateway.process.limitFileSize(1)
        try await gateway.process.waitForLine(containing: "the store cannot be written: writes are held", timeout: .seconds(30))
        try await gateway.process.waitForLine(containing: "call records held: the store cannot be written", occurrence: 3,
                                              timeout: .seconds(30))
        try gateway.process.limitFileSize(nil)
        try await gateway.process.waitForLine(containing: "the store takes writes again", timeout: .seconds(30))
        let result = try await SIPp.finish(sipp, directory: sippDirectory, timeout: .seconds(120))
        #expect(Self.mostlyCompleted(result, of: 150), "\(result.summary)")
        try await Self.stopLosingNothing(gateway)
        #expect(try await Self.records(store).count == result.successful)
    }

    @Test("an -shm file made unwritable under load is an error, not a crash: records are held and land once it is writable",
          .enabled(if: Facilities.canMakeImmutable, "chattr +i does not work here (needs root and a filesystem with the flag)"))
    func sharedMemoryUnwritable() async throws {
        let directory = try TestPaths.temporaryDirectory("shm")
        let store = directory + "/store.sqlite"
        defer {
            Facilities.run("/usr/bin/chattr", ["-i", store + "-shm"])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let gateway = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        let (sipp, sippDirectory) = try Self.load(gateway, calls: 150, rate: 15)
        try await Self.waitForCalls(gateway, sipp, 15)
        #expect(Facilities.run("/usr/bin/chattr", ["+i", store + "-shm"]) == 0)
        sync()  // writes the mapped pages back, so the next store into them faults
        try await gateway.process.waitForLine(containing: "a bus error was caught", timeout: .seconds(60))
        try await gateway.process.waitForLine(containing: "call records held: the store cannot be written", timeout: .seconds(30))
        #expect(Facilities.run("/usr/bin/chattr", ["-i", store + "-shm"]) == 0)
        try await gateway.process.waitForLine(containing: "the store takes writes again", timeout: .seconds(30))
        let result = try await SIPp.finish(sipp, directory: sippDirectory, timeout: .seconds(120))
        #expect(Self.mostlyCompleted(result, of: 150), "\(result.summary)")
        #expect(gateway.process.isRunning, "the gateway survived the fault")
        try await Self.stopLosingNothing(gateway)
        #expect(try await Self.records(store).count == result.successful)
    }

    @Test("the store files deleted under load are noticed and restored from the copy still open: no record is lost")
    func deletedUnderLoad() async throws {
        let directory = try TestPaths.temporaryDirectory("deleted")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        let (sipp, sippDirectory) = try Self.load(gateway, calls: 150, rate: 15)
        try await gateway.process.waitForLine(containing: "call ended", occurrence: 30)
        for suffix in ["", "-wal", "-shm"] { try FileManager.default.removeItem(atPath: store + suffix) }
        try await gateway.process.waitForLine(containing: "the store file was deleted", timeout: .seconds(30))
        try await gateway.process.waitForLine(containing: "store restored from the copy still open", timeout: .seconds(30))
        let result = try await SIPp.finish(sipp, directory: sippDirectory, timeout: .seconds(120))
        #expect(Self.mostlyCompleted(result, of: 150), "\(result.summary)")
        try await Self.stopLosingNothing(gateway)
        #expect(try await Self.records(store).count == result.successful)
    }

    @Test("a store file replaced under load is noticed and the new file opened: every call after it is recorded there")
    func replacedUnderLoad() async throws {
        let directory = try TestPaths.temporaryDirectory("replaced")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        let before = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "10", "-r", "10", "-d", "100", "-s", "100"])
        try await gateway.process.waitForLine(containing: "call ended", occurrence: before.successful)
        // An operator puts another Omnigate store in its place (a restore from a backup, say).
        let other = directory + "/other.sqlite"
        try await CallFlow.fillStore(other, contacts: "id,name,phone\nc1,Ada,+12025550142\n")
        #expect(rename(other, store) == 0)
        try await gateway.process.waitForLine(containing: "the store file was replaced", timeout: .seconds(30))
        try await gateway.process.waitForLine(containing: "store opened", timeout: .seconds(30))
        let after = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                       arguments: ["-m", "20", "-r", "10", "-d", "100", "-s", "100"])
        #expect(Self.mostlyCompleted(before, of: 10) && Self.mostlyCompleted(after, of: 20), "\(before.summary)\n\(after.summary)")
        try await Self.stopLosingNothing(gateway)
        // The replaced file had the first ten; the new one has every call since, and its own contact.
        let records = try await Self.records(store)
        #expect(records.count == after.successful, "\(records.map { $0["uniqueid"] ?? "-" })")
        #expect(try TimelineStore(path: store, mode: .readOnly).contact(id: "c1")?.name == "Ada")
    }

    @Test("with when_file_changes = refuse, a deleted store stops new calls (503); its records wait in the spill file for the next start")
    func refusesWhenDeleted() async throws {
        let directory = try TestPaths.temporaryDirectory("refuse")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let config = Self.config(store: store, extra: "when_file_changes = refuse\n")
        let gateway = try await GatewayProcess.start(config: config, dialplan: Self.plan)
        let (live, liveDirectory) = try SIPp.start("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                                   arguments: ["-m", "1", "-d", "3000", "-s", "100"])
        try await gateway.process.waitForLine(containing: "call in ")
        for suffix in ["", "-wal", "-shm"] { try FileManager.default.removeItem(atPath: store + suffix) }
        try await gateway.process.waitForLine(containing: "refusing new calls (503): their records could not be kept", timeout: .seconds(30))
        let refused = try await SIPp.run("uac-refused-503.xml", target: gateway.udpTarget, port: Ports.free(), arguments: ["-m", "1", "-s", "100"])
        #expect(refused.successful == 1, "a new call gets 503: \(refused.summary)")
        let call = try await SIPp.finish(live, directory: liveDirectory)
        #expect(call.successful == 1, "the call taken before goes on to its end: \(call.summary)")
        #expect(try await gateway.stop() == 0)
        try await gateway.process.waitForLine(containing: "writes wait in the spill file for the next start")
        #expect(!FileManager.default.fileExists(atPath: store), "nothing reopened or recreated the store")
        // The next start creates a store and replays the spill file into it.
        let next = try await GatewayProcess.start(config: Self.config(store: store), dialplan: Self.plan)
        try await next.process.waitForLine(containing: "spill file replayed into the store")
        try await Self.stopLosingNothing(next)
        #expect(try await Self.records(store).count == 1)
    }

    @Test("when the backlog and the spill file are full, new calls get 503 (when_full = refuse) and every call taken is recorded",
          .enabled(if: Facilities.canSetLimits, "prlimit is missing or the tests do not run as root"))
    func refusesWhenFull() async throws {
        let directory = try TestPaths.temporaryDirectory("full")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(config: Self.config(store: store, extra: "backlog = 100\nspill = off\n"),
                                                     dialplan: Self.plan)
        try gateway.process.limitFileSize(1)
        let taken = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                       arguments: ["-m", "60", "-r", "20", "-d", "100", "-s", "100"])
        try await gateway.process.waitForLine(containing: "refusing new calls (503): their records could not be kept")
        let refused = try await SIPp.run("uac-refused-503.xml", target: gateway.udpTarget, port: Ports.free(),
                                         arguments: ["-m", "1", "-s", "100"])
        #expect(refused.successful == 1, "a new call gets 503: \(refused.summary)")
        try gateway.process.limitFileSize(nil)
        try await gateway.process.waitForLine(containing: "taking new calls again", timeout: .seconds(30))
        try await Self.stopLosingNothing(gateway)
        // The calls refused by 503 were never taken; every call taken is recorded.
        #expect(try await Self.records(store).count == taken.successful)
        #expect(taken.failed > 0 && taken.successful + taken.failed == 60, "some of the 60 calls were refused: \(taken.summary)")
    }

    @Test("with when_full = accept, calls go on past a full backlog and each lost record is named in a log line",
          .enabled(if: Facilities.canSetLimits, "prlimit is missing or the tests do not run as root"))
    func acceptsWhenFull() async throws {
        let directory = try TestPaths.temporaryDirectory("accept")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store.sqlite"
        let gateway = try await GatewayProcess.start(
            config: Self.config(store: store, extra: "backlog = 100\nspill = off\nwhen_full = accept\n"), dialplan: Self.plan)
        try gateway.process.limitFileSize(1)
        let result = try await SIPp.run("uac-caller-hangs-up.xml", target: gateway.udpTarget, port: Ports.free(),
                                        arguments: ["-m", "60", "-r", "20", "-d", "100", "-s", "100"])
        #expect(Self.mostlyCompleted(result, of: 60), "\(result.summary)")
        let lost = try await gateway.process.waitForLine(containing: "call records lost (the backlog and the spill file are full")
        #expect(lost.contains("calls=") && !gateway.process.stderr.contains("refusing new calls"))
        try gateway.process.limitFileSize(nil)
        try await gateway.process.waitForLine(containing: "the store takes writes again", timeout: .seconds(30))
        #expect(try await gateway.stop() == 0)
        let summary = try #require(gateway.process.stderr.split(separator: "\n").last { $0.contains("store writes at stop") })
        #expect(summary.contains("records.held=0"), "\(summary)")
        // Every call is recorded or named in a "lost" line.
        let named = Set(gateway.process.stderr.split(separator: "\n").filter { $0.contains("call records lost") }
            .flatMap { line in (line.firstMatch(of: /calls=([^ ]+)/).map { String($0.1) } ?? "").split(separator: ",").map(String.init) })
        let recorded = Set(try await Self.records(store).compactMap { $0["uniqueid"] as? String })
        #expect(!named.isEmpty)
        #expect(recorded.union(named).count == result.successful, "\(recorded.count) recorded, \(named.count) named as lost")
    }
}
