import SIPEngine
import Testing

@Suite("SIP addresses")
struct AddressTests {
    @Test("the user part of a URI; a sip URI without '@' has none (a caller with no number, a Request-URI to s)", arguments: [
        ("sip:+15551234567@trunk.example.com", "+15551234567"), ("sips:alice@192.0.2.1:5061;transport=tls", "alice"),
        ("sip:127.0.0.1:5060", ""), ("sip:example.com", ""), ("tel:+15551234567", "+15551234567"), ("sip:100;x=1@host", "100"),
    ])
    func user(uri: String, user: String) {
        #expect(SIPAddress(uri: uri).user == user)
    }
}
