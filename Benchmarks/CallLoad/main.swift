// call-load: places calls at a steady rate from Omnigate's own SIP engine, over
// UDP, TCP or TLS, holds each for a while and hangs up; prints how many
// completed, failed, and the INVITE-to-answer time. SIPp (Debian's build) has
// no TLS, so Benchmarks/tls_cps.py drives the gateway with this instead, for
// every transport alike.
//
//   call-load --target sip:service@127.0.0.1:5061;transport=tls --rate 100 --calls 1000 --hold 1000
//             [--certificate cert.pem --key key.pem] [--rtp-port 40000]

import Dispatch
import Foundation
import SIPEngine
import Synchronization

func usage() -> Never {
    print("""
    Usage: call-load --target URI --rate CALLS_PER_SECOND --calls N [--hold MS] [--certificate PEM --key PEM] [--rtp-port N]
      URI        where to call; ;transport=tcp or ;transport=tls picks the transport
      --hold     how long each answered call is held before BYE (default 1000 ms)
      --certificate, --key   a certificate for this program's own TLS listener (needed for TLS)
    Prints: offered, completed, failed, and the INVITE-to-200 time (p50, p99) in ms.
    """)
    exit(2)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let name = arguments.first, name.hasPrefix("--") {
    arguments = arguments.dropFirst()
    if name == "--help" { usage() }
    guard let value = arguments.first else { usage() }
    options[String(name.dropFirst(2))] = value
    arguments = arguments.dropFirst()
}
guard let target = options["target"], let rate = options["rate"].flatMap(Double.init), rate > 0,
      let total = options["calls"].flatMap(Int.init), total > 0 else { usage() }
let hold = options["hold"].flatMap(Int.init) ?? 1000

@Sendable func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

struct Progress {
    var placed: [CallID: ContinuousClock.Instant] = [:]
    var setup: [Double] = []
    var completed = 0
    var failed = 0
    var statuses: [Int: Int] = [:]
}
let progress = Mutex(Progress())
let done = DispatchSemaphore(value: 0)
let engineBox = Mutex<SIPEngine?>(nil)

var config = EngineConfig()
config.udp = ("127.0.0.1", 0)
config.tcp = ("127.0.0.1", 0)
if let certificate = options["certificate"], let key = options["key"] {
    var tls = TLSSettings(host: "127.0.0.1", port: 0, certificate: certificate, privateKey: key)
    tls.verifyServer = false  // a benchmark against a test certificate
    config.tls = tls
}
config.maxCalls = 4000
config.rtpPortStart = options["rtp-port"].flatMap(Int.init) ?? 40000
config.rtpPortRange = 8000
config.userAgent = "call-load"
config.admit = { _ in .refuse(403) }  // this program only calls out

let engine = try SIPEngine.start(config) { event in
    switch event {
    case .callState(let id, .confirmed):
        let answered = progress.withLock { state -> Bool in
            guard let start = state.placed[id] else { return false }
            state.setup.append(milliseconds(ContinuousClock.now - start))
            return true
        }
        if answered {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(hold)) {
                engineBox.withLock { $0 }?.post(.hangup(id))
            }
        }
    case .callState(let id, .disconnected(let status, _, _)):
        let finished = progress.withLock { state -> Int in
            guard state.placed.removeValue(forKey: id) != nil else { return -1 }
            if status == 200 { state.completed += 1 } else { state.failed += 1; state.statuses[status, default: 0] += 1 }
            return state.completed + state.failed
        }
        if finished == total { done.signal() }
    default:
        break
    }
}
engineBox.withLock { $0 = engine }

let started = ContinuousClock.now
let interval = 1.0 / rate
for n in 0..<total {
    let due = started + .nanoseconds(Int64(Double(n) * interval * 1e9))
    let wait = due - .now
    if wait > .zero { Thread.sleep(forTimeInterval: milliseconds(wait) / 1000) }
    let id = CallID.make()
    progress.withLock { $0.placed[id] = .now }
    engine.post(.call(id, to: target, from: SIPAddress(uri: "sip:+15550100\(n % 100)@127.0.0.1")))
}
let finished = done.wait(timeout: .now() + .seconds(Int(Double(hold) / 1000) + 60)) == .success
let elapsed = ContinuousClock.now - started
engine.stop()
let state = progress.withLock { $0 }
let sorted = state.setup.sorted()
func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
print(String(format: "offered %d completed %d failed %d setup_p50_ms %.2f setup_p99_ms %.2f seconds %.1f%@",
             total, state.completed, state.failed + (finished ? 0 : state.placed.count), percentile(0.5), percentile(0.99),
             milliseconds(elapsed) / 1000,
             state.statuses.isEmpty ? "" : " statuses \(state.statuses.sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: ","))"))
