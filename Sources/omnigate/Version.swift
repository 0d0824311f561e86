import SIPEngine
import Timeline

/// `omnigate --version`.
enum Version {
    static let omnigate = "0.1.0"

    static var text: String {
        "omnigate \(omnigate) (PJSIP \(SIPEngine.libraryVersion), SQLite \(TimelineStore.sqliteVersion))"
    }
}
