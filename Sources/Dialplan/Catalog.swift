/// Which applications and functions Omnigate runs, and which are Asterisk's
/// but outside the subset (a warning: the plan loads, that step fails at run
/// time) — anything else is a misspelling (an error).
public enum Catalog {
    /// Applications the interpreter runs.
    public static let applications: Set<String> = [
        "Answer", "Ringing", "Progress", "Wait", "NoOp", "Verbose", "Log", "Set", "Goto", "GotoIf", "GotoIfTime",
        "Gosub", "GosubIf", "Return", "Hangup", "Busy", "Congestion", "Playback", "Background", "WaitExten", "Read",
        "Dial", "Queue", "VoiceMail", "Record", "MessageSend",
    ]

    /// Functions `${NAME(…)}` understands.
    public static let functions: Set<String> = [
        "IF", "IFTIME", "GLOBAL", "LEN", "CUT", "TOUPPER", "TOLOWER", "REGEX", "STRFTIME", "RAND", "ISNULL", "EXISTS",
        "MESSAGE", "CONTACT", "CALLERID", "LOCAL", "TIMEOUT", "FILTER", "EXCEPTION",
    ]

    /// Asterisk applications outside Omnigate's subset.
    public static let asteriskApplications: Set<String> = [
        "AGI", "AlarmReceiver", "AMD", "Authenticate", "BackgroundDetect", "Bridge", "BridgeWait", "CallCompletionCancel",
        "CallCompletionRequest", "ChanIsAvail", "ChannelRedirect", "ChanSpy", "ConfBridge", "ContinueWhile", "ControlPlayback",
        "DAHDIRAS", "DateTime", "DBdeltree", "DeadAGI", "Dictate", "Directory", "DISA", "DumpChan", "EAGI", "Echo",
        "EndWhile", "Exec", "ExecIf", "ExecIfTime", "ExitWhile", "ExtenSpy", "ExternalIVR", "Festival", "Flash",
        "FollowMe", "ForkCDR", "GetCPEID", "ImportVar", "JabberJoin", "JabberLeave", "JabberSend", "JabberSendGroup",
        "JabberStatus", "JACK", "Macro", "MacroExclusive", "MacroExit", "MacroIf", "MailboxExists", "MeetMe",
        "MeetMeAdmin", "MeetMeChannelAdmin", "MeetMeCount", "MessageSendOld", "Milliwatt", "MinivmAccMess", "MinivmDelete",
        "MinivmGreet", "MinivmMWI", "MinivmNotify", "MinivmRecord", "MixMonitor", "Monitor", "Morsecode", "MP3Player",
        "MSet", "MusicOnHold", "NBScat", "ODBC_Commit", "ODBC_Rollback", "ODBCFinish", "Originate", "Page", "Park",
        "ParkAndAnnounce", "ParkedCall", "PauseMonitor", "PauseQueueMember", "Pickup", "PickupChan", "PlayTones",
        "PrivacyManager", "Proceeding", "QueueLog", "QueueUpdate", "RaiseException", "ReadExten", "ReceiveFAX",
        "RemoveQueueMember", "ResetCDR", "RetryDial", "SayAlpha", "SayAlphaCase", "SayDigits", "SayNumber", "SayPhonetic",
        "SayUnixTime", "SendDTMF", "SendFAX", "SendImage", "SendText", "SendURL", "SetAMAFlags", "SIPAddHeader",
        "SIPDtmfMode", "SIPRemoveHeader", "PJSIPAddHeader", "SLAStation", "SLATrunk", "SMS", "SoftHangup", "SpeechActivateGrammar",
        "SpeechBackground", "SpeechCreate", "SpeechDeactivateGrammar", "SpeechDestroy", "SpeechLoadGrammar",
        "SpeechProcessingSound", "SpeechStart", "SpeechUnloadGrammar", "StackPop", "StartMusicOnHold", "Stasis",
        "StopMixMonitor", "StopMonitor", "StopMusicOnHold", "StopPlayTones", "System", "TestClient", "TestServer",
        "Transfer", "TryExec", "TrySystem", "UnpauseMonitor", "UnpauseQueueMember", "UserEvent", "VMAuthenticate",
        "VMSayName", "VoiceMailMain", "VoiceMailPlayMsg", "WaitDigit", "WaitForNoise", "WaitForRing", "WaitForSilence",
        "WaitMusicOnHold", "WaitUntil", "While", "Zapateller", "AddQueueMember", "AELSub", "Dial2", "SayCountedAdj",
        "SayCountedNoun", "SayMoney", "SayOrdinal", "PlaybackFile", "AttendedTransfer", "BlindTransfer", "Broadcast",
        "ConfKick", "Reload", "Signal", "WaitForCondition", "Bridge",
    ]

    /// Asterisk dialplan functions outside Omnigate's subset.
    public static let asteriskFunctions: Set<String> = [
        "AES_DECRYPT", "AES_ENCRYPT", "AGC", "AGENT", "ARRAY", "AST_CONFIG", "AST_SORCERY", "AUDIOHOOK_INHERIT",
        "BASE64_DECODE", "BASE64_ENCODE", "BLACKLIST", "CALENDAR_BUSY", "CALLCOMPLETION", "CALLERPRES", "CDR",
        "CDR_PROP", "CHANNEL", "CHANNELS", "CHECKSIPDOMAIN", "CONNECTEDLINE", "CSV_QUOTE", "CURL", "CURLOPT", "DB",
        "DB_DELETE", "DB_EXISTS", "DB_KEYS", "DEC", "DENOISE", "DEVICE_STATE", "DIALGROUP", "DIALPLAN_EXISTS",
        "DUNDILOOKUP", "DUNDIQUERY", "DUNDIRESULT", "ENUMLOOKUP", "ENUMQUERY", "ENUMRESULT", "ENV", "EVAL",
        "EXTENSION_STATE", "FAXOPT", "FEATURE", "FEATUREMAP", "FIELDNUM", "FIELDQTY", "FILE", "FILE_COUNT_LINE",
        "FILE_FORMAT", "FRAME_TRACE", "GLOBAL_VARS", "GROUP", "GROUP_COUNT", "GROUP_LIST", "GROUP_MATCH_COUNT",
        "HANGUPCAUSE", "HANGUPCAUSE_KEYS", "HASH", "HASHKEYS", "HINT", "IAXPEER", "IAXVAR", "ICONV", "INC", "JABBER_RECEIVE",
        "JABBER_STATUS", "JITTERBUFFER", "KEYPADHASH", "LISTFILTER", "LOCAL_PEEK", "LOCK", "MAILBOX_EXISTS", "MASTER_CHANNEL",
        "MATH", "MD5", "MEETME_INFO", "MESSAGE_DATA", "MINIVMACCOUNT", "MINIVMCOUNTER", "MUTEAUDIO", "ODBC", "ODBC_FETCH",
        "PASSTHRU", "PITCH_SHIFT", "PJSIP_AOR", "PJSIP_CONTACT", "PJSIP_DIAL_CONTACTS", "PJSIP_ENDPOINT", "PJSIP_HEADER",
        "PJSIP_MEDIA_OFFER", "PJSIP_PARSE_URI", "POP", "PP_EACH_EXTENSION", "PP_EACH_USER", "PRESENCE_STATE", "PUSH",
        "QUEUE_EXISTS", "QUEUE_MEMBER", "QUEUE_MEMBER_COUNT", "QUEUE_MEMBER_LIST", "QUEUE_MEMBER_PENALTY",
        "QUEUE_VARIABLES", "QUEUE_WAITING_COUNT", "QUOTE", "REALTIME", "REALTIME_DESTROY", "REALTIME_FIELD",
        "REALTIME_HASH", "REALTIME_STORE", "REDIRECTING", "REPLACE", "SET", "SHA1", "SHARED", "SHELL", "SHIFT",
        "SIP_HEADER", "SIPCHANINFO", "SIPPEER", "SMDI_MSG", "SMDI_MSG_RETRIEVE", "SORT", "SPEECH", "SPEECH_ENGINE",
        "SPEECH_GRAMMAR", "SPEECH_RESULTS_TYPE", "SPEECH_SCORE", "SPEECH_TEXT", "SPRINTF", "SQL_ESC", "SRVQUERY",
        "SRVRESULT", "STACK_PEEK", "STAT", "STRPTIME", "STRREPLACE", "SYSINFO", "TALK_DETECT", "TESTTIME",
        "TRYLOCK", "TXTCIDNAME", "UNLOCK", "UNSHIFT", "URIDECODE", "URIENCODE", "VALID_EXTEN", "VERSION", "VM_INFO",
        "VMCOUNT", "VOLUME", "GOSUB_RETVAL",
    ]

    /// Contexts Asterisk modules provide (they are not undefined, only unavailable here).
    public static let moduleContexts: [String: String] = ["parkedcalls": "res_parking"]

    private static let asteriskApplicationNames = Set(asteriskApplications.map { $0.lowercased() })

    /// Dialplan applications are matched without regard to case, as in Asterisk.
    static func canonicalApplication(_ name: String) -> String? { Application.named(name)?.rawValue }

    static func isAsteriskApplication(_ name: String) -> Bool { asteriskApplicationNames.contains(name.lowercased()) }
}
