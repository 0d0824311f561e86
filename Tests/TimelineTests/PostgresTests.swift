import Foundation
import OmnigateTestSupport
@testable import Timeline
import Testing

private let postgresAvailable = PostgresServer.unavailableReason == nil

@Suite("the PostgreSQL backend", .enabled(if: postgresAvailable,
    "PostgreSQL could not be started here (scripts/setup.sh installs Debian's postgresql): the store's PostgreSQL backend was not checked"))
struct PostgresBackendTests {
    @Test("a new database gets the latest schema, the same version as SQLite's")
    func createsSchema() throws {
        let store = try TimelineStore(postgresql: try PostgresServer.database())
        #expect(store.schemaVersion == Schema.latest)
        #expect(PostgresSchema.latest == Schema.latest)
    }
}

@Test("PostgreSQL starts for the tests, or says why not")
func postgresReason() {
    print("PostgreSQL: \(PostgresServer.unavailableReason ?? "available")")
}
