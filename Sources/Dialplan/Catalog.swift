/// Which applications and functions Omnigate runs, and every name Asterisk 22
/// has: a name Asterisk has that Omnigate does not run is a warning (the plan
/// loads; that step is skipped, that function reads as empty); a name Asterisk
/// does not have either is a misspelling, an error.
///
/// Asterisk's names are derived from its own sources, not from memory: every
/// `<application name=…>` and `<function name=…>` of its documentation in
/// Asterisk 22.10.1, plus the two applications (`MobileStatus`,
/// `MobileSendSMS`) and the one function (`JACK_HOOK`) it registers without
/// one. `scripts/setup.sh` derives the same lists from Debian's asterisk source
/// package, and a test holds these sets to them. `Macro` and its family were
/// removed in Asterisk 21 and are not here: they are in `removedApplications`,
/// which lists what Asterisk 20 LTS documents and registers but 21 and 22 do not
/// (found the same way in Asterisk's sources at tags 20.20.1, 21.12.3 and
/// 22.10.1). Asterisk 22 still loads a plan that names one and ends the call at
/// that step, so Omnigate reads them so in Asterisk mode, and as unknown names
/// (with the reason) in strict mode.
public enum Catalog {
    /// Applications the interpreter runs (names as Omnigate prints them; matched without regard to case).
    public static let applications: Set<String> = Set(Application.allCases.map(\.rawValue))

    /// Functions `${NAME(…)}` (and `Set(NAME(…)=…)`) Omnigate answers.
    public static let functions: Set<String> = Set(FunctionName.allCases.map(\.rawValue))

    /// Every dialplan application of Asterisk 22, as its documentation spells it.
    public static let asteriskApplications: Set<String> = [
        "ADSIProg", "AELSub", "AGI", "AMD", "AddQueueMember", "AgentLogin", "AgentRequest", "AlarmReceiver",
        "Answer", "AttendedTransfer", "AudioSocket", "Authenticate", "BackGround", "BackgroundDetect",
        "BlindTransfer", "Bridge", "BridgeAdd", "BridgeWait", "Broadcast", "Busy", "CELGenUserEvent",
        "CallCompletionCancel", "CallCompletionRequest", "ChanIsAvail", "ChanSpy", "ChannelRedirect",
        "ClearHash", "ConfBridge", "ConfKick", "Congestion", "ContinueWhile", "ControlPlayback",
        "DAHDIAcceptR2Call", "DAHDIScan", "DAHDISendCallreroutingFacility", "DAHDISendKeypadFacility",
        "DBdeltree", "DISA", "DateTime", "DeadAGI", "Dial", "Dictate", "Directory", "DumpChan", "EAGI", "Echo",
        "Else", "ElseIf", "EndIf", "EndWhile", "Exec", "ExecIf", "ExecIfTime", "ExitIf", "ExitWhile",
        "ExtenSpy", "ExternalIVR", "Festival", "Flash", "FollowMe", "ForkCDR", "GetCPEID", "Gosub", "GosubIf",
        "Goto", "GotoIf", "GotoIfTime", "Hangup", "HangupCauseClear", "IAX2Provision", "IVRDemo", "If",
        "Incomplete", "JACK", "JabberJoin", "JabberLeave", "JabberSend", "JabberSendGroup", "Log", "MP3Player",
        "MSet", "MeetMe", "MeetMeAdmin", "MeetMeChannelAdmin", "MeetMeCount", "MessageSend", "Milliwatt",
        "MinivmAccMess", "MinivmDelete", "MinivmGreet", "MinivmMWI", "MinivmNotify", "MinivmRecord",
        "MixMonitor", "MobileSendSMS", "MobileStatus", "Morsecode", "MusicOnHold", "NoOp", "ODBCFinish",
        "ODBC_Commit", "ODBC_Rollback", "Originate", "PJSIPHangup", "PJSIPNotify", "Page", "Park",
        "ParkAndAnnounce", "ParkedCall", "PauseQueueMember", "Pickup", "PickupChan", "PlayTones", "Playback",
        "PrivacyManager", "Proceeding", "Progress", "Queue", "QueueLog", "QueueUpdate", "RaiseException",
        "Read", "ReadExten", "ReceiveFAX", "ReceiveMF", "ReceiveSF", "ReceiveText", "Record", "Reload",
        "RemoveQueueMember", "ResetCDR", "RetryDial", "Return", "Ringing", "SLAStation", "SLATrunk", "SMS",
        "SayAlpha", "SayAlphaCase", "SayCountedAdj", "SayCountedNoun", "SayDigits", "SayMoney", "SayNumber",
        "SayOrdinal", "SayPhonetic", "SayUnixTime", "SendDTMF", "SendFAX", "SendMF", "SendSF", "SendText",
        "Set", "Signal", "SkelGuessNumber", "SoftHangup", "SpeechActivateGrammar", "SpeechBackground",
        "SpeechCreate", "SpeechDeactivateGrammar", "SpeechDestroy", "SpeechLoadGrammar",
        "SpeechProcessingSound", "SpeechStart", "SpeechUnloadGrammar", "StackPop", "StartMusicOnHold", "Stasis",
        "StasisBroadcast", "StatsD", "StopMixMonitor", "StopMusicOnHold", "StopPlayTones", "StoreDTMF",
        "StreamEcho", "System", "TestClient", "TestServer", "ToneScan", "Transfer", "TryExec", "TrySystem",
        "UnpauseQueueMember", "UserEvent", "VMAuthenticate", "VMSayName", "Verbose", "VoiceMail",
        "VoiceMailMain", "VoiceMailPlayMsg", "Wait", "WaitDigit", "WaitExten", "WaitForCondition",
        "WaitForNoise", "WaitForRing", "WaitForSignal", "WaitForSilence", "WaitForTone", "WaitUntil", "While",
        "Zapateller"
    ]

    /// Every dialplan function of Asterisk 22.
    public static let asteriskFunctions: Set<String> = [
        "ABS", "AES_DECRYPT", "AES_ENCRYPT", "AGC", "AGENT", "AMI_CLIENT", "ARRAY", "AST_CONFIG", "AST_SORCERY",
        "BASE64_DECODE", "BASE64_ENCODE", "BASENAME", "BLACKLIST", "CALENDAR_BUSY", "CALENDAR_EVENT",
        "CALENDAR_QUERY", "CALENDAR_QUERY_RESULT", "CALENDAR_WRITE", "CALLCOMPLETION", "CALLERID", "CDR",
        "CDR_PROP", "CHANNEL", "CHANNELS", "CHANNEL_EXISTS", "CONFBRIDGE", "CONFBRIDGE_CHANNELS",
        "CONFBRIDGE_INFO", "CONNECTEDLINE", "CSV_QUOTE", "CURL", "CURLOPT", "CUT", "DAHDI_CHANNEL", "DB",
        "DB_DELETE", "DB_EXISTS", "DB_KEYCOUNT", "DB_KEYS", "DEC", "DELETE", "DENOISE", "DEVICE_STATE",
        "DIALGROUP", "DIALPLAN_EXISTS", "DIGIT_SUM", "DIRNAME", "DUNDILOOKUP", "DUNDIQUERY", "DUNDIRESULT",
        "ENUMLOOKUP", "ENUMQUERY", "ENUMRESULT", "ENV", "EVAL", "EVAL_EXTEN", "EVAL_SUB", "EXCEPTION", "EXISTS",
        "EXPORT", "EXTENSION_STATE", "FAXOPT", "FEATURE", "FEATUREMAP", "FIELDNUM", "FIELDQTY", "FILE",
        "FILE_COUNT_LINE", "FILE_FORMAT", "FILTER", "FRAME_DROP", "FRAME_TRACE", "GEOLOC_PROFILE", "GLOBAL",
        "GLOBAL_DELETE", "GLOBAL_EXISTS", "GROUP", "GROUP_COUNT", "GROUP_LIST", "GROUP_MATCH_COUNT",
        "HANGUPCAUSE", "HANGUPCAUSE_KEYS", "HASH", "HASHKEYS", "HINT", "HOLD_INTERCEPT", "IAXPEER", "IAXVAR",
        "ICONV", "IF", "IFMODULE", "IFTIME", "IMPORT", "INC", "ISNULL", "JABBER_RECEIVE", "JABBER_STATUS",
        "JACK_HOOK", "JITTERBUFFER", "JSON_DECODE", "KEYPADHASH", "LEN", "LISTFILTER", "LOCAL", "LOCAL_PEEK",
        "LOCK", "LOG_GROUP", "LTRIM", "MASTER_CHANNEL", "MATH", "MAX", "MD5", "MEETME_INFO", "MESSAGE",
        "MESSAGE_DATA", "MIN", "MINIVMACCOUNT", "MINIVMCOUNTER", "MIXMONITOR", "MUTEAUDIO", "ODBC",
        "ODBC_FETCH", "PARK_GET_CHANNEL", "PASSTHRU", "PERIODIC_HOOK", "PITCH_SHIFT", "PJSIP_AOR",
        "PJSIP_CONTACT", "PJSIP_DIAL_CONTACTS", "PJSIP_DTMF_MODE", "PJSIP_ENDPOINT", "PJSIP_HEADER",
        "PJSIP_HEADERS", "PJSIP_HEADER_PARAM", "PJSIP_INHERITABLE_HEADER", "PJSIP_MEDIA_OFFER",
        "PJSIP_MOH_PASSTHROUGH", "PJSIP_PARSE_URI", "PJSIP_PARSE_URI_FROM", "PJSIP_RESPONSE_HEADER",
        "PJSIP_RESPONSE_HEADERS", "PJSIP_SEND_SESSION_REFRESH", "PJSIP_TRANSFER_HANDLING", "POLARITY", "POP",
        "PP_EACH_EXTENSION", "PP_EACH_USER", "PRESENCE_STATE", "PUSH", "QUEUE_EXISTS", "QUEUE_GET_CHANNEL",
        "QUEUE_MEMBER", "QUEUE_MEMBER_COUNT", "QUEUE_MEMBER_LIST", "QUEUE_MEMBER_PENALTY", "QUEUE_VARIABLES",
        "QUEUE_WAITING_COUNT", "QUOTE", "RAND", "REALTIME", "REALTIME_DESTROY", "REALTIME_FIELD",
        "REALTIME_HASH", "REALTIME_STORE", "RECORDING_INFO", "REDIRECTING", "REGEX", "REPLACE", "RTRIM",
        "SAYFILES", "SCRAMBLE", "SET", "SHA1", "SHARED", "SHELL", "SHIFT", "SMDI_MSG", "SMDI_MSG_RETRIEVE",
        "SORT", "SPEECH", "SPEECH_ENGINE", "SPEECH_GRAMMAR", "SPEECH_RESULTS_TYPE", "SPEECH_SCORE",
        "SPEECH_TEXT", "SPRINTF", "SQL_ESC", "SQL_ESC_BACKSLASHES", "SRVQUERY", "SRVRESULT", "STACK_PEEK",
        "STAT", "STIR_SHAKEN", "STIR_SHAKEN_ATTESTATION", "STRBETWEEN", "STRFTIME", "STRPTIME", "STRREPLACE",
        "SYSINFO", "TALK_DETECT", "TESTTIME", "TIMEOUT", "TOLOWER", "TONE_DETECT", "TOUPPER", "TRIM", "TRYLOCK",
        "TXTCIDNAME", "UNLOCK", "UNSHIFT", "URIDECODE", "URIENCODE", "UUID", "VALID_EXTEN", "VARIABLE_EXISTS",
        "VERSION", "VMCOUNT", "VM_INFO", "VOLUME"
    ]

    /// Applications Asterisk 20 has and Asterisk 21 removed (chan_sip's, Macro's, Monitor's, OSP's, …).
    public static let removedApplications: Set<String> = [
        "ChangeMonitor", "ImportVar", "Macro", "MacroExclusive", "MacroExit", "MacroIf", "Monitor", "NoCDR", "OSPAuth",
        "OSPFinish", "OSPLookup", "OSPNext", "PauseMonitor", "SIPAddHeader", "SIPDtmfMode", "SIPRemoveHeader",
        "SIPSendCustomINFO", "SetAMAFlags", "StopMonitor", "UnpauseMonitor",
    ]

    /// Functions Asterisk 20 has and Asterisk 21 removed (chan_sip's).
    public static let removedFunctions: Set<String> = ["CHECKSIPDOMAIN", "SIPPEER", "SIP_HEADER", "SIP_HEADERS"]

    private static let removedApplicationNames = Dictionary(uniqueKeysWithValues: removedApplications.map { ($0.lowercased(), $0) })

    /// The name Asterisk 20 spelt a removed application with, matched without regard to case.
    static func removedApplication(_ name: String) -> String? { removedApplicationNames[name.lowercased()] }

    /// Asterisk's applications Omnigate does not run.
    public static var unsupportedApplications: Set<String> {
        Set(asteriskApplications.filter { Application.named($0) == nil })
    }

    /// Asterisk's functions Omnigate does not answer.
    public static var unsupportedFunctions: Set<String> { asteriskFunctions.subtracting(functions) }

    /// Contexts Asterisk modules provide (they are not undefined, only unavailable here).
    public static let moduleContexts: [String: String] = ["parkedcalls": "res_parking"]

    private static let asteriskApplicationNames = Set(asteriskApplications.map { $0.lowercased() })

    /// Dialplan applications are matched without regard to case, as in Asterisk.
    static func canonicalApplication(_ name: String) -> String? { Application.named(name)?.rawValue }

    static func isAsteriskApplication(_ name: String) -> Bool { asteriskApplicationNames.contains(name.lowercased()) }

    /// Every application name either has, for "did you mean".
    static let allApplications: Set<String> = applications.union(asteriskApplications)

    /// Every function name either has, for "did you mean".
    static let allFunctions: Set<String> = functions.union(asteriskFunctions)
}
