// pjsua-autoanswer: the baseline for the SIP benchmark. A plain pjsua
// auto-answer user agent on the same libpjproject as Omnigate, with pjsua's
// default settings (one worker thread, 16 kHz conference bridge, every codec,
// each answered call connected to the bridge), except for the call limit.
//
//   pjsua-autoanswer [--port N] [--max-calls N] [--help]
//
// It answers every INVITE with 200 and keeps the call until the caller hangs up.
import CPJSIP
import Foundation

var port: UInt32 = 5090
var maxCalls: UInt32 = 4000
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--port": port = UInt32(args.popFirst() ?? "") ?? port
    case "--max-calls": maxCalls = UInt32(args.popFirst() ?? "") ?? maxCalls
    case "--help", "-h":
        print("Usage: pjsua-autoanswer [--port N] [--max-calls N]\nA pjsua auto-answer baseline with pjsua's default settings.")
        exit(0)
    default:
        FileHandle.standardError.write(Data("pjsua-autoanswer: unknown argument \(arg)\n".utf8)); exit(2)
    }
}

func fail(_ what: String, _ status: pj_status_t) -> Never {
    FileHandle.standardError.write(Data("pjsua-autoanswer: \(what) failed (\(status))\n".utf8)); exit(1)
}

var status = pjsua_create()
if status != 0 { fail("pjsua_create", status) }
var cfg = pjsua_config()
pjsua_config_default(&cfg)
cfg.max_calls = maxCalls
cfg.cb.on_incoming_call = { _, callID, _ in _ = pjsua_call_answer(callID, 200, nil, nil) }
cfg.cb.on_call_media_state = { callID in
    var info = pjsua_call_info()
    if pjsua_call_get_info(callID, &info) == 0 && info.media_status == PJSUA_CALL_MEDIA_ACTIVE {
        _ = pjsua_conf_connect(info.conf_slot, 0)
        _ = pjsua_conf_connect(0, info.conf_slot)
    }
}
var log = pjsua_logging_config()
pjsua_logging_config_default(&log)
log.console_level = 1
log.level = 1
var media = pjsua_media_config()
pjsua_media_config_default(&media)
status = pjsua_init(&cfg, &log, &media)
if status != 0 { fail("pjsua_init", status) }
var transport = pjsua_transport_config()
pjsua_transport_config_default(&transport)
transport.port = port
status = pjsua_transport_create(PJSIP_TRANSPORT_UDP, &transport, nil)
if status != 0 { fail("pjsua_transport_create", status) }
var account = pjsua_acc_id()
_ = pjsua_acc_add_local(0, 1, &account)
status = pjsua_start()
if status != 0 { fail("pjsua_start", status) }
_ = pjsua_set_null_snd_dev()
FileHandle.standardError.write(Data("pjsua-autoanswer: ready on udp port \(port)\n".utf8))

signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
let stop = DispatchSemaphore(value: 0)
let sources = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
    let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
    source.setEventHandler { stop.signal() }
    source.resume()
    return source
}
stop.wait()
_ = sources
exit(0)  // pjsua_destroy would have to run on a registered thread; the process ends here
