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
