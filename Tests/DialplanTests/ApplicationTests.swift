@testable import Dialplan
import Foundation
import Testing

@Suite("applications and their effect on the call")
struct ApplicationTests {
    @Test("Answer, Ringing, Progress, Wait, Playback and Hangup are channel commands; h runs after")
    func callControl() async throws {
        let p = try plan("""
        [default]
        exten => s,1,Ringing()
        same => n,Progress()
        same => n,Answer()
        same => n,Wait(2)
        same => n,Playback(welcome&menu)
        same => n,Hangup(21)
        exten => h,1,NoOp(after ${EXTEN})
        """)
        let (outcome, channel) = await simulate(p, exten: "s")
        #expect(channel.commands == ["ringing", "progress", "answer", "wait(2)", "play(welcome&menu)", "hangup(21)"])
        #expect(outcome.reason == "hangup" && outcome.hangupCause == 21)
        #expect(outcome.steps.last?.description == "default,h,1: NoOp(after h)")
        #expect(outcome.lastApplication == "Hangup" && outcome.lastData == "21")
    }

    @Test("Busy and Congestion hang up with causes 17 and 34")
    func busyCongestion() async throws {
        let p = try plan("[default]\nexten => 1,1,Busy()\nexten => 2,1,Congestion()\n")
        #expect(await simulate(p, exten: "1").0.hangupCause == 17)
        #expect(await simulate(p, exten: "2").0.hangupCause == 34)
    }

    @Test("Goto, GotoIf and labels move control")
    func gotos() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Set(X=5)
        same => n,GotoIf($[${X} > 3]?big:small)
        same => n(small),NoOp(small)
        same => n,Hangup()
        same => n(big),Goto(other,2,1)
        [other]
        exten => 2,1,NoOp(arrived)
        """)
        let (outcome, _) = await simulate(p, exten: "1")
        #expect(outcome.steps.map(\.description) == [
            "default,1,1: Set(X=5)", "default,1,2: GotoIf(1?big:small)", "default,1,5: Goto(other,2,1)", "other,2,1: NoOp(arrived)",
        ])
        #expect(outcome.reason == "autofallthrough")
    }

    @Test("GotoIfTime branches on the call's time")
    func gotoIfTime() async throws {
        let p = try plan("[default]\nexten => 1,1,GotoIfTime(09:00-17:00,mon-fri,*,*?open:closed)\nsame => n(open),NoOp(open)\nsame => n,Hangup()\nsame => n(closed),NoOp(closed)\n")
        #expect(await simulate(p, exten: "1", time: "2026-11-24T10:00:00Z").0.steps[1].arguments == "open")
        #expect(await simulate(p, exten: "1", time: "2026-11-24T20:00:00Z").0.steps[1].arguments == "closed")
    }

    @Test("Gosub passes arguments and Return comes back with GOSUB_RETVAL")
    func gosub() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Gosub(sub,s,1(alpha,beta))
        same => n,NoOp(back ${GOSUB_RETVAL} ${ARG1})
        [sub]
        exten => s,1,NoOp(${ARG1}-${ARG2} of ${ARGC})
        same => n,Return(done)
        """)
        let (outcome, _) = await simulate(p, exten: "1")
        #expect(outcome.steps.map(\.arguments) == ["sub,s,1(alpha,beta)", "alpha-beta of 2", "done", "back done "])
    }

    @Test("Return without Gosub and a Goto to nowhere end the call with a warning naming the step's file:line")
    func badJumps() async throws {
        let p = try plan("[default]\nexten => 1,1,Return()\nexten => 2,1,Goto(${NOWHERE},s,1)\n")
        let (outcome, _) = await simulate(p, exten: "1")
        #expect(outcome.warnings == ["t.conf:2:14: Return() without a Gosub; the call ends, as in Asterisk"])
        #expect(outcome.reason == "bad-return")
        let (outcome2, channel) = await simulate(p, exten: "2")
        #expect(outcome2.warnings == ["t.conf:3:14: Goto(,s,1): [default] has no extension 's'; the call ends, as in Asterisk"])
        #expect(channel.commands == ["hangup(1)"])
    }

    @Test("Background with a digit dials an extension; WaitExten without one goes to t; a wrong one to i")
    func menus() async throws {
        let p = try plan("""
        [default]
        exten => s,1,Background(menu)
        same => n,WaitExten(5)
        exten => 1,1,NoOp(sales)
        exten => 12,1,NoOp(twelve)
        exten => i,1,NoOp(invalid ${INVALID_EXTEN})
        exten => t,1,NoOp(timeout)
        """)
        var script = ScriptedChannel.Script()
        script.digits = ["1"]
        #expect(await simulate(p, exten: "s", script: script).0.steps.last?.arguments == "sales")
        script.digits = ["1", "2"]
        #expect(await simulate(p, exten: "s", script: script).0.steps.last?.arguments == "twelve")
        script.digits = ["7"]
        #expect(await simulate(p, exten: "s", script: script).0.steps.last?.arguments == "invalid 7")
        script.digits = []
        let (timeout, channel) = await simulate(p, exten: "s", script: script)
        #expect(timeout.steps.last?.arguments == "timeout")
        #expect(channel.commands == ["answer", "play(menu)", "hangup(16)"])
    }

    @Test("Read collects digits until # and sets READSTATUS")
    func read() async throws {
        let p = try plan("[default]\nexten => 1,1,Read(PIN,enter-pin,4)\nsame => n,NoOp(${PIN} ${READSTATUS})\nexten => 2,1,Read(ACCT,,,,2)\nsame => n,NoOp(${ACCT}|${READSTATUS})\n")
        var script = ScriptedChannel.Script()
        script.digits = ["1", "2", "#"]
        #expect(await simulate(p, exten: "1", script: script).0.steps.last?.arguments == "12 OK")
        script.digits = []
        #expect(await simulate(p, exten: "2", script: script).0.steps.last?.arguments == "|TIMEOUT")
    }

    @Test("Dial sets DIALSTATUS; an answered call ends the caller unless g; targets and inheritance reach the channel")
    func dial() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Dial(PJSIP/alice&PJSIP/bob,20)
        same => n,NoOp(${DIALSTATUS})
        exten => 2,1,Dial(PJSIP/alice,20,g)
        same => n,NoOp(after ${DIALSTATUS})
        """)
        var script = ScriptedChannel.Script()
        script.dialStatus["*"] = "BUSY"
        let (busy, channel) = await simulate(p, exten: "1", script: script)
        #expect(channel.commands == ["dial(PJSIP/alice&PJSIP/bob)", "hangup(17)"])
        #expect(busy.steps.last?.arguments == "BUSY")
        #expect(busy.hangupCause == 17, "autofallthrough after BUSY hangs up as busy")
        let (answered, _) = await simulate(p, exten: "1")
        #expect(answered.reason == "dial-ended" && answered.steps.count == 1)
        let (goOn, _) = await simulate(p, exten: "2")
        #expect(goOn.steps.last?.arguments == "after ANSWER")
    }

    @Test("Dial and Queue read option letters as Asterisk does: a letter inside an option's (argument) is not an option")
    func optionLetters() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Dial(PJSIP/alice,20,U(greeting))
        same => n,NoOp(not reached)
        exten => 2,1,Dial(PJSIP/alice,20,tU(greeting)g)
        same => n,NoOp(after ${DIALSTATUS})
        exten => 3,1,Queue(support,r(music))
        same => n,NoOp(not reached)
        """)
        #expect(await simulate(p, exten: "1").0.reason == "dial-ended")
        #expect(await simulate(p, exten: "2").0.steps.last?.arguments == "after ANSWER")
        #expect(await simulate(p, exten: "3").0.reason == "dial-ended")
        #expect(Interpreter.optionLetters("tgA(beep)é m").map(\.letter) == ["t", "g", "A", "é", "m"])
        #expect(Interpreter.optionLetters("tgA(beep)é m").map(\.offset) == [0, 1, 2, 9, 12])
    }

    @Test("Queue sets QUEUESTATUS when nobody answers")
    func queue() async throws {
        let p = try plan("[default]\nexten => 1,1,Queue(support,,,,30)\nsame => n,NoOp(${QUEUESTATUS})\n")
        var script = ScriptedChannel.Script()
        script.queueStatus["support"] = "TIMEOUT"
        let (outcome, channel) = await simulate(p, exten: "1", script: script)
        #expect(channel.commands == ["queue(support)", "hangup(16)"])
        #expect(outcome.steps.last?.arguments == "TIMEOUT")
        let (answered, _) = await simulate(p, exten: "1")
        #expect(answered.reason == "dial-ended")
        #expect(answered.variables["QUEUEAGENT"] == "agent")
    }

    @Test("VoiceMail sets VMSTATUS; Record sets RECORD_STATUS and RECORDED_FILE")
    func recordings() async throws {
        let p = try plan("[default]\nexten => 1,1,VoiceMail(support@default,u)\nsame => n,Record(/tmp/x.wav,3,60)\nsame => n,NoOp(${VMSTATUS} ${RECORD_STATUS} ${RECORDED_FILE})\n")
        let (outcome, channel) = await simulate(p, exten: "1")
        #expect(channel.commands == ["voicemail(support@default)", "answer", "record(/tmp/x.wav)", "hangup(16)"])
        #expect(outcome.steps.last?.arguments == "SUCCESS DTMF /tmp/x.wav")
    }

    @Test("a message context sees MESSAGE() and replies with MessageSend")
    func messages() async throws {
        let p = try plan("[sms]\nexten => _X.,1,Set(MESSAGE(body)=Re: ${MESSAGE(body)})\nsame => n,MessageSend(${MESSAGE(from)})\nsame => n,NoOp(${MESSAGE_SEND_STATUS})\n")
        let channel = ScriptedChannel()
        var start = CallStart(context: "sms", exten: "5550100", uniqueID: "m-1")
        start.message = ("hello", "sip:+12015550100@trunk", "sip:5550100@gw")
        let outcome = await Interpreter(plan: p, channel: channel, globals: Globals(p), start: start).runMessage()
        #expect(channel.commands == ["message(sip:+12015550100@trunk: Re: hello)"])
        #expect(outcome.reason == "message-done" && outcome.steps.last?.arguments == "SUCCESS")
    }

    @Test("a caller hanging up mid-plan stops it and runs h")
    func callerHangsUp() async throws {
        let p = try plan("[default]\nexten => s,1,Answer()\nsame => n,Playback(a)\nsame => n,Playback(b)\nexten => h,1,NoOp(${DIALSTATUS})\n")
        var script = ScriptedChannel.Script()
        script.hangUpAfterCommands = 2
        let (outcome, channel) = await simulate(p, exten: "s", script: script)
        #expect(channel.commands == ["answer", "play(a)"])
        #expect(outcome.reason == "caller-hangup")
        #expect(outcome.steps.last?.exten == "h")
    }

    @Test("a plan that loops without waiting is stopped")
    func loopLimit() async throws {
        let p = try plan("[default]\nexten => 1,1,Goto(1,1)\n")
        let (outcome, _) = await simulate(p, exten: "1")
        #expect(outcome.reason == "step-limit")
    }

    @Test("a missing extension hangs up, or goes to i when there is one")
    func noExtension() async throws {
        let p = try plan("[default]\nexten => 1,1,NoOp()\n[withi]\nexten => i,1,NoOp(${INVALID_EXTEN})\n")
        #expect(await simulate(p, exten: "9").0.reason == "no-extension")
        #expect(await simulate(p, context: "withi", exten: "9").0.steps.first?.arguments == "9")
    }
}

/// What each application asks of the channel, in full, and the variables it leaves.
@Suite("applications: requests and statuses")
struct ApplicationRequestTests {
    @Test("Dial hands the channel its targets, timeout, options, the inherited variables and the caller ID")
    func dialRequest() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Set(_ONCE=a)
        same => n,Set(__ALWAYS=b)
        same => n,Set(MINE=c)
        same => n,Dial(PJSIP/alice&PJSIP/+15551234567@provider,25,tTg)
        same => n,NoOp(${DIALSTATUS})
        """)
        let channel = RecordingChannel(dialStatus: "NOANSWER")
        let outcome = await run(p, on: channel, exten: "1")
        let request = try #require(channel.requests.withLock { $0.dials.first })
        #expect(request.targets == ["PJSIP/alice", "PJSIP/+15551234567@provider"])
        #expect(request.timeout == .seconds(25) && request.options == "tTg")
        #expect(request.inherited == ["_ONCE": "a", "__ALWAYS": "b"])
        #expect(request.callerIDNumber == "2015550100" && request.callerIDName == "Ada")
        #expect(outcome.steps.last?.arguments == "NOANSWER")
    }

    @Test("Dial statuses per target; no timeout rings until someone answers")
    func dialStatuses() async throws {
        let p = try plan("[default]\nexten => 1,1,Dial(PJSIP/bob)\nsame => n,NoOp(${DIALSTATUS})\n")
        for status in ["BUSY", "NOANSWER", "CONGESTION", "CHANUNAVAIL"] {
            let (outcome, _) = await simulate(p, exten: "1", script: script { $0.dialStatus["PJSIP/bob"] = status })
            #expect(outcome.steps.last?.arguments == status)
        }
        let channel = RecordingChannel()
        _ = await run(p, on: channel, exten: "1")
        #expect(channel.requests.withLock { $0.dials.first?.timeout } == nil)
    }

    @Test("Queue hands over its name, options and timeout; with c an answered call goes on in the plan")
    func queueRequest() async throws {
        let p = try plan("[default]\nexten => 1,1,Queue(support,c,,,45)\nsame => n,NoOp(after queue ${QUEUEAGENT})\n")
        let channel = RecordingChannel()
        _ = await run(p, on: channel, exten: "1")
        let request = try #require(channel.requests.withLock { $0.queues.first })
        #expect(request.queue == "support" && request.options == "c" && request.timeout == .seconds(45))
        let (answered, _) = await simulate(p, exten: "1", script: script { $0.queueAgent = "carol" })
        #expect(answered.steps.last?.arguments == "after queue carol")
    }

    @Test("VoiceMail hands over its mailboxes and options and sets VMSTATUS")
    func voicemail() async throws {
        let p = try plan("[default]\nexten => 1,1,VoiceMail(sales@office&support,us)\nsame => n,NoOp(${VMSTATUS})\n")
        let channel = RecordingChannel()
        _ = await run(p, on: channel, exten: "1")
        let request = try #require(channel.requests.withLock { $0.voicemails.first })
        #expect(request.mailboxes == ["sales@office", "support"] && request.options == "us")
        #expect(await simulate(p, exten: "1", script: script { $0.voicemailStatus = "FAILED" }).0.steps.last?.arguments == "FAILED")
    }

    @Test("Record hands over its file, silence, length and options and sets RECORD_STATUS and RECORDED_FILE")
    func record() async throws {
        let p = try plan("[default]\nexten => 1,1,Record(notes/${UNIQUEID}.wav,3,60,q)\nsame => n,NoOp(${RECORD_STATUS} ${RECORDED_FILE})\n")
        let channel = RecordingChannel()
        let outcome = await run(p, on: channel, exten: "1")
        let request = try #require(channel.requests.withLock { $0.recordings.first })
        #expect(request.path == "notes/u-2.wav" && request.silence == .seconds(3) && request.maxDuration == .seconds(60) && request.options == "q")
        #expect(outcome.steps.last?.arguments == "SILENCE notes/u-2.wav")
    }

    @Test("MessageSend from a call sends MESSAGE(body) to the destination and sets MESSAGE_SEND_STATUS")
    func messageSendFromCall() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Set(MESSAGE(body)=Your code is 1234)
        same => n,MessageSend(pjsip:${CALLERID(num)}@provider,+15550000)
        same => n,NoOp(${MESSAGE_SEND_STATUS})
        """)
        let channel = RecordingChannel()
        let outcome = await run(p, on: channel, exten: "1")
        #expect(channel.requests.withLock { $0.messages } == [OutboundMessage(destination: "pjsip:2015550100@provider", from: "+15550000", body: "Your code is 1234")])
        #expect(outcome.steps.last?.arguments == "SUCCESS")
        let (failed, _) = await simulate(p, exten: "1", script: script { $0.messageStatus = "FAILURE" })
        #expect(failed.steps.last?.arguments == "FAILURE")
    }

    @Test("Playback of a missing prompt sets PLAYBACKSTATUS=FAILED and goes on; noanswer leaves the call unanswered")
    func playback() async throws {
        let p = try plan("[default]\nexten => 1,1,Playback(there&missing,noanswer)\nsame => n,NoOp(${PLAYBACKSTATUS})\nexten => 2,1,Playback(there)\nsame => n,NoOp(${PLAYBACKSTATUS})\n")
        let (failed, channel) = await simulate(p, exten: "1", script: script { $0.missingPrompts = ["missing"] })
        #expect(channel.commands.prefix(1) == ["play(there&missing)"])
        #expect(failed.steps.last?.arguments == "FAILED")
        let (played, channel2) = await simulate(p, exten: "2")
        #expect(channel2.commands.prefix(2) == ["answer", "play(there)"])
        #expect(played.steps.last?.arguments == "SUCCESS")
    }

    @Test("Background: n leaves the call unanswered; a context argument takes the digits there")
    func backgroundOptions() async throws {
        let p = try plan("""
        [default]
        exten => s,1,Background(menu,n,,other)
        [other]
        exten => 5,1,NoOp(in other)
        """)
        let (outcome, channel) = await simulate(p, exten: "s", script: script("5"))
        #expect(channel.commands.first == "play(menu)")
        #expect(outcome.steps.last?.description == "other,5,1: NoOp(in other)")
    }

    @Test("Read: a prompt a digit interrupts, at most maxdigits, # ends early, attempts repeat the prompt")
    func read() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Read(PIN,enter-pin,4,,3,5)
        same => n,NoOp(${PIN}|${READSTATUS})
        """)
        #expect(await simulate(p, exten: "1", script: script("123456")).0.steps.last?.arguments == "1234|OK")
        #expect(await simulate(p, exten: "1", script: script("9#")).0.steps.last?.arguments == "9|OK")
        let (retried, channel) = await simulate(p, exten: "1", script: script(",,7"))
        #expect(retried.steps.last?.arguments == "7|OK")
        #expect(channel.commands.filter { $0 == "play(enter-pin)" }.count == 2)
        let (hungUp, _) = await simulate(p, exten: "1", script: script("1") { $0.hangUpAfterCommands = 2 })
        #expect(hungUp.variables["READSTATUS"] == "HANGUP" && hungUp.reason == "caller-hangup")
    }

    @Test("skip options: Playback(…,skip), Background(…,s) and Read(…,s) do nothing on a call not yet answered")
    func skipWhenNotAnswered() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Playback(a,skip)
        same => n,Background(b,s)
        same => n,Read(X,c,1,s)
        same => n,NoOp(${PLAYBACKSTATUS} ${READSTATUS})
        same => n,Answer()
        same => n,Playback(a,skip)
        """)
        let (outcome, channel) = await simulate(p, exten: "1")
        #expect(outcome.steps[3].arguments == "SUCCESS SKIPPED")
        #expect(channel.commands == ["answer", "play(a)", "hangup(16)"])
    }

    @Test("DIALSTATUS=CANCEL means the caller hung up while it rang: the call ends and h runs")
    func dialCancel() async throws {
        let p = try plan("[default]\nexten => 1,1,Dial(PJSIP/bob,20)\nsame => n,NoOp(not reached)\nexten => h,1,NoOp(${DIALSTATUS})\n")
        let (outcome, _) = await simulate(p, exten: "1", script: script { $0.dialStatus["*"] = "CANCEL" })
        #expect(outcome.reason == "caller-hangup" && outcome.steps.map(\.arguments) == ["PJSIP/bob,20", "CANCEL"])
    }

    @Test("GosubIf calls one of two subroutines")
    func gosubIf() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,GosubIf($[${X} = 1]?yes,s,1(a):no,s,1(b))
        same => n,NoOp(${GOSUB_RETVAL})
        [yes]
        exten => s,1,Return(yes ${ARG1})
        [no]
        exten => s,1,Return(no ${ARG1})
        """)
        #expect(await simulate(p, exten: "1", variables: ["X": "1"]).0.steps.last?.arguments == "yes a")
        #expect(await simulate(p, exten: "1", variables: ["X": "2"]).0.steps.last?.arguments == "no b")
    }

    @Test("Verbose and Log write to the run's messages; Wait takes fractions; Hangup takes cause names")
    func loggingAndWaits() async throws {
        let p = try plan("""
        [default]
        exten => 1,1,Verbose(2,Caller ${CALLERID(num)})
        same => n,Verbose(no level, just text)
        same => n,Log(NOTICE,checked in)
        same => n,Wait(0.5)
        same => n,Hangup(CALL_REJECTED)
        """)
        let (outcome, channel) = await simulate(p, exten: "1")
        // As Asterisk's Verbose: what follows the first comma is the message, whatever came before it.
        #expect(outcome.messages == ["VERBOSE: Caller 2015550100", "VERBOSE:  just text", "NOTICE: checked in"])
        #expect(channel.commands == ["wait(0.5)", "hangup(21)"])
    }
}
