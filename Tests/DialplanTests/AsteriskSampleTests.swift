@testable import Dialplan
import Foundation
import Testing

/// scripts/setup.sh extracts it from Debian's asterisk source package; it is not committed.
private let samplePath = "/var/cache/omnigate/asterisk/extensions.conf.sample"
private let sampleIsThere = FileManager.default.fileExists(atPath: samplePath)

/// Asterisk's own `configs/samples/extensions.conf.sample`, read as Omnigate
/// reads an Asterisk dialplan brought in as it is (Asterisk mode).
@Suite("Asterisk's sample dialplan")
struct AsteriskSampleTests {
    /// The sample's lines with comments removed, numbered from 1.
    private var lines: [(number: Int, text: String)] {
        get throws {
            let text = try String(contentsOfFile: samplePath, encoding: .utf8)
            return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line in
                (index + 1, String(line.prefix { $0 != ";" }))
            }
        }
    }

    @Test("it loads with no errors, and every context it defines is there",
          .enabled(if: sampleIsThere, "Asterisk's extensions.conf.sample is missing (scripts/setup.sh extracts it): the sample was not checked"))
    func loads() throws {
        let load = DialplanLoader.load(paths: [samplePath], mode: .asterisk)
        #expect(load.errors.isEmpty, "\(load.errors)")
        let plan = try #require(load.plan)
        let headers = try lines.compactMap { line -> String? in
            let text = line.text.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("["), let close = text.firstIndex(of: "]") else { return nil }
            let name = String(text[text.index(after: text.startIndex)..<close])
            return name == "general" || name == "globals" ? nil : name
        }
        #expect(!headers.isEmpty)
        #expect(Set(plan.contextNames) == Set(headers))
        #expect(load.diagnostics.allSatisfy { $0.severity == .warning && $0.location.line > 0 })
    }

    @Test("each application and function outside Omnigate's subset is a warning on the very line that uses it",
          .enabled(if: sampleIsThere, "Asterisk's extensions.conf.sample is missing (scripts/setup.sh extracts it): the sample was not checked"))
    func outsideTheSubset() throws {
        let load = DialplanLoader.load(paths: [samplePath], mode: .asterisk)
        let warned = Set(load.diagnostics.map { "\($0.location.line) \($0.message)" })
        var checked = 0
        for line in try lines {
            for app in Catalog.unsupportedApplications where line.text.contains(",\(app)(") {
                checked += 1
                #expect(warned.contains("\(line.number) application '\(app)' is not supported by Omnigate; this step will be skipped"),
                        "line \(line.number): \(app)")
            }
            for function in Catalog.unsupportedFunctions where line.text.contains("${\(function)(") || line.text.contains(",Set(\(function)(") {
                checked += 1
                #expect(warned.contains("\(line.number) function '\(function)' is not supported by Omnigate; it reads as empty"),
                        "line \(line.number): \(function)")
            }
        }
        #expect(checked > 10, "the sample uses applications and functions Omnigate does not have")
    }

    /// `2` could still grow into an extension of the included [stdexten] (`_X.`), so the
    /// call waits one digit timeout before taking `2`, as Asterisk does.
    @Test("its demo menu runs: a digit during the greeting plays more information and goes back to the instructions",
          .enabled(if: sampleIsThere, "Asterisk's extensions.conf.sample is missing (scripts/setup.sh extracts it): the sample was not checked"))
    func demoRuns() async throws {
        let plan = try #require(DialplanLoader.load(paths: [samplePath], mode: .asterisk).plan)
        let (outcome, channel) = await simulate(plan, context: "demo", exten: "s", script: script("2") { $0.patience = 1 })
        #expect(channel.commands.prefix(5) == ["wait(1)", "answer", "play(demo-congrats)", "play(demo-moreinfo)", "play(demo-instruct)"])
        #expect(outcome.steps.map(\.description).contains("demo,2,2: Goto(s,instruct)"))
    }
}

/// scripts/setup.sh extracts these from Debian's asterisk source package; they are not committed.
private let basicPBXPath = "/var/cache/omnigate/asterisk/basic-pbx/extensions.conf"
private let basicPBXIsThere = FileManager.default.fileExists(atPath: basicPBXPath)
private let namesPath = "/var/cache/omnigate/asterisk/names.txt"
private let namesAreThere = FileManager.default.fileExists(atPath: namesPath)

/// Asterisk's `configs/basic-pbx/extensions.conf`, its example of a small office PBX.
@Suite("Asterisk's basic-pbx dialplan")
struct AsteriskBasicPBXTests {
    @Test("in Asterisk mode it loads with no errors; what it leaves to run time are warnings at their line",
          .enabled(if: basicPBXIsThere, "Asterisk's basic-pbx extensions.conf is missing (scripts/setup.sh extracts it): it was not checked"))
    func loads() throws {
        let load = DialplanLoader.load(paths: [basicPBXPath], mode: .asterisk)
        #expect(load.errors.isEmpty, "\(load.errors)")
        #expect(load.plan?.contexts.count == 13)
        let warnings = load.diagnostics.map { "\($0.location.line):\($0.location.column) \($0.message)" }
        #expect(warnings.contains("44:16 Goto to extension 'operator', which [External-Features] does not have"))
        #expect(warnings.contains("107:18 Goto to priority 1111 of 'o' in [Dial-Users], which does not exist"))
        #expect(warnings.contains("24:11 application 'Confbridge' is not supported by Omnigate; this step will be skipped"))
    }

    @Test("read strictly, its run-time references are its only errors",
          .enabled(if: basicPBXIsThere, "Asterisk's basic-pbx extensions.conf is missing (scripts/setup.sh extracts it): it was not checked"))
    func strictly() {
        let errors = DialplanLoader.load(paths: [basicPBXPath]).errors.map { "\($0.location.line) \($0.message)" }
        #expect(errors == [
            "44 Goto to extension 'operator', which [External-Features] does not have",
            "51 Goto to extension 'operator', which [External-Features] does not have",
            "107 Goto to priority 1111 of 'o' in [Dial-Users], which does not exist",
        ])
    }

    @Test("its IVR runs, and its Goto to a missing 'operator' ends the call at run time, as in Asterisk, naming the line",
          .enabled(if: basicPBXIsThere, "Asterisk's basic-pbx extensions.conf is missing (scripts/setup.sh extracts it): it was not checked"))
    func ivrRuns() async throws {
        let plan = try #require(DialplanLoader.load(paths: [basicPBXPath], mode: .asterisk).plan)
        let (outcome, channel) = await simulate(plan, context: "DCS-Incoming", exten: "2565551100",
                                                script: script("1") { $0.queueStatus["sales"] = "TIMEOUT" })
        #expect(outcome.messages.first == "VERBOSE:  \"New caller, 2015550100 dialed into the IVR.\"")
        #expect(channel.commands.prefix(3) == ["answer", "play(basic-pbx-ivr-main)", "queue(sales)"])
        #expect(outcome.warnings == ["\(basicPBXPath):44:11: Goto(operator,1): [External-Features] has no extension 'operator'; the call ends, as in Asterisk"])
        #expect(outcome.reason == "no-extension")
    }
}

/// Omnigate's catalogue against the lists scripts/setup.sh derives from Asterisk's sources.
@Suite("the catalogue of Asterisk's names")
struct CatalogTests {
    private func names(_ kind: String) throws -> Set<String> {
        let text = try String(contentsOfFile: namesPath, encoding: .utf8)
        return Set(text.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count == 2 && parts[0] == kind ? String(parts[1]) : nil
        })
    }

    @Test("every application and function Asterisk's sources have is in the catalogue, and nothing else",
          .enabled(if: namesAreThere, "the list of Asterisk's names is missing (scripts/setup.sh derives it): the catalogue was not compared"))
    func matchesTheSources() throws {
        #expect(Catalog.asteriskApplications == (try names("application")))
        #expect(Catalog.asteriskFunctions == (try names("function")))
    }

    @Test("each is Omnigate's, or a warning saying Omnigate does not support it; Macro and what left with it are not Asterisk 22's")
    func eachIsKnown() {
        #expect(Catalog.asteriskApplications.count == 202 && Catalog.asteriskFunctions.count == 219)
        for name in Catalog.unsupportedApplications.sorted() {
            #expect(diagnostics("[d]\nexten => 1,1,\(name)()\n") == ["t.conf:2:14: warning: application '\(name)' is not supported by Omnigate; this step will be skipped"])
        }
        for name in Catalog.unsupportedFunctions.sorted() {
            #expect(diagnostics("[d]\nexten => 1,1,NoOp(${\(name)(x)})\n") == ["t.conf:2:21: warning: function '\(name)' is not supported by Omnigate; it reads as empty"])
        }
        #expect(Catalog.applications.isSubset(of: Set(Catalog.asteriskApplications.map { Catalog.canonicalApplication($0) ?? $0 })))
        #expect(Catalog.functions.subtracting(Catalog.asteriskFunctions) == ["CONTACT"], "Omnigate's own")
        #expect(!Catalog.isAsteriskApplication("Macro") && Catalog.removedApplications.contains("Macro"))
    }
}
