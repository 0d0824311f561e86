import Foundation
@testable import Gateway
import OmnigateTestSupport
import Testing
import Configuration
import Dialplan
import Timeline

@Suite("the store, time-boxed")
struct StoreAccessTests {
    @Test("a lookup slower than its budget gives up with a reason, and the call goes on")
    func budget() async throws {
        let directory = try TestPaths.temporaryDirectory("access")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = GatewayConfig.Store()
        settings.path = directory + "/s.sqlite"
        let access = try StoreAccess(settings: settings, identity: RunIdentity(systemName: "test"))
        defer { access.stop() }
        let slow = await access.read(budget: .milliseconds(50)) { store -> Int in
            Thread.sleep(forTimeInterval: 0.5)
            return try store.callRecords().count
        }
        guard case .failure(let failure) = slow else { Issue.record("a 500 ms read beat a 50 ms budget"); return }
        #expect(failure.description == "store lookup exceeded its 50 ms budget")
        let quick = await access.read(budget: .seconds(5)) { try $0.callRecords().count }
        #expect(try quick.get() == 0)
    }

    @Test("the caller's context for an agent: summary header, last interaction")
    func callerContext() throws {
        let directory = try TestPaths.temporaryDirectory("context")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try TimelineStore(path: directory + "/s.sqlite")
        try store.addContact(Contact(id: "c1", name: "Ada \"the Countess\" Lovelace", tier: "vip",
                                     identities: [Identity(kind: .phone, value: "+12025550142")]))
        var chat = TimelineEvent(channel: .chat, direction: .inbound, time: Date().addingTimeInterval(-7200), source: "chat")
        chat.address = "+12025550142"
        chat.subject = "Refund"
        chat.agent = "bob"
        try store.appendEvent(chat)
        let context = CallerContext(try store.screenPop(for: "sip:+12025550142@trunk;user=phone"))
        #expect(context.known && context.lastAgent == "bob" && context.tier == "vip")
        #expect(context.lastInteraction == "chat 2h ago: Refund")
        #expect(context.summaryHeader == #"name="Ada \"the Countess\" Lovelace"; tier=vip; last="chat 2h ago: Refund""#)
    }
}

/// The dialplan checks CONTACT(field) names against its own list (the Dialplan
/// module knows nothing of the store); the store answers from another. They must agree.
@Suite("CONTACT() fields")
struct ContactFieldTests {
    @Test("the fields dialplan check accepts are exactly those the store answers")
    func fieldsAgree() {
        #expect(TimelineFields.known == Set(TimelinePop.fields))
    }
}
