@testable import Dialplan
import Foundation
import Testing

/// `omnigate dialplan graph`: the flowchart, pinned for a plan that has each kind of arrow.
@Suite("dialplan graph")
struct GraphTests {
    static let text = """
        [in]
        exten => s,1,Background(menu)
        same => n,WaitExten(5)
        exten => 1,1,GotoIf($[${X} > 1]?big,s,1:small,s,1)
        exten => 2,1,Goto(${DEST},1)
        exten => 3,1,Gosub(sub,s,1(a))
        exten => i,1,Hangup()
        include => extra,09:00-17:00,mon-fri,*,*
        [big]
        exten => s,1,Queue(q)
        [small]
        exten => s,1,VoiceMail(1)
        [sub]
        exten => s,1,Return()
        [extra]
        """

    @Test("mermaid: a box per context, one per extension, arrows for menu choices, conditions, Gosub, computed jumps, queues and timed includes")
    func mermaid() throws {
        #expect(DialplanGraph.render(try plan(Self.text + "\n"), context: "in", format: .mermaid) == """
        flowchart TD
          subgraph c0["[in]"]
            c0_0["s<br/>Background(menu)<br/>WaitExten(5)"]
            c0_1["1<br/>GotoIf($[${X} #gt; 1]?big,s,1:small,…)"]
            c0_2["2<br/>Goto(${DEST},1)"]
            c0_3["3<br/>Gosub(sub,s,1(a))"]
            c0_4["i<br/>Hangup()"]
            x0["computed: ${DEST},1"]
          end
          subgraph c1["[extra]"]
            c1_none["(no extensions)"]
          end
          subgraph c2["[big]"]
            c2_0["s<br/>Queue(q)"]
          end
          subgraph c3["[small]"]
            c3_0["s<br/>VoiceMail(1)"]
          end
          subgraph c4["[sub]"]
            c4_0["s<br/>Return()"]
          end
          q0["queue q"]
          c0_0 -.->|"press 1"| c0_1
          c0_0 -.->|"press 2"| c0_2
          c0_0 -.->|"press 3"| c0_3
          c0_0 -.->|"invalid"| c0_4
          c0_1 -->|"if $[${X} #gt; 1]"| c2_0
          c0_1 -->|"else"| c3_0
          c0_2 --> x0
          c0_3 -->|"gosub"| c4_0
          c0 -.->|"include when 09:00-17:00,mon-fri,*,*"| c1
          c2_0 -->|"queue"| q0
        """ + "\n")
    }

    @Test("dot: the same, as Graphviz clusters; arrows to a context are clipped at its box")
    func dot() throws {
        #expect(DialplanGraph.render(try plan(Self.text + "\n"), context: "in", format: .dot) == """
        digraph dialplan {
          compound=true;
          rankdir=TB;
          node [shape=box, fontname="monospace", fontsize=10];
          subgraph cluster_c0 {
            label="[in]";
            c0_0 [label="s\\lBackground(menu)\\lWaitExten(5)\\l"];
            c0_1 [label="1\\lGotoIf($[${X} > 1]?big,s,1:small,…)\\l"];
            c0_2 [label="2\\lGoto(${DEST},1)\\l"];
            c0_3 [label="3\\lGosub(sub,s,1(a))\\l"];
            c0_4 [label="i\\lHangup()\\l"];
            x0 [label="computed: ${DEST},1\\l"];
          }
          subgraph cluster_c1 {
            label="[extra]";
            c1_none [label="(no extensions)\\l"];
          }
          subgraph cluster_c2 {
            label="[big]";
            c2_0 [label="s\\lQueue(q)\\l"];
          }
          subgraph cluster_c3 {
            label="[small]";
            c3_0 [label="s\\lVoiceMail(1)\\l"];
          }
          subgraph cluster_c4 {
            label="[sub]";
            c4_0 [label="s\\lReturn()\\l"];
          }
          q0 [label="queue q\\l"];
          c0_0 -> c0_1 [label="press 1", style=dashed];
          c0_0 -> c0_2 [label="press 2", style=dashed];
          c0_0 -> c0_3 [label="press 3", style=dashed];
          c0_0 -> c0_4 [label="invalid", style=dashed];
          c0_1 -> c2_0 [label="if $[${X} > 1]"];
          c0_1 -> c3_0 [label="else"];
          c0_2 -> x0 [label=""];
          c0_3 -> c4_0 [label="gosub"];
          c0_0 -> c1_none [label="include when 09:00-17:00,mon-fri,*,*", style=dashed, ltail=cluster_c0, lhead=cluster_c1];
          c2_0 -> q0 [label="queue"];
        }
        """ + "\n")
    }

    @Test("computed jumps go to a node saying what they compute, in the context they name; label jumps say where they land")
    func computedAndLabelJumps() throws {
        let p = try plan("""
        [a]
        exten => 1,1,Goto(b,${X},1)
        exten => 2,1,Goto(${X},1)
        exten => 3,1,GotoIf($[1]?open)
        same => n,Goto(${C},s,1)
        same => n(open),Goto(b,5,again)
        [b]
        exten => 5,1,NoOp()
        same => n(again),Queue(support)
        """ + "\n")
        let mermaid = DialplanGraph.render(p, format: .mermaid)
        #expect(mermaid.contains("    x0[\"computed: b,${X},1\"]\n  end\n"), "in [b]'s box")
        #expect(mermaid.contains("  c0_0 --> x0\n") && mermaid.contains("  c0_1 --> x1\n") && mermaid.contains("  c0_2 --> x2\n"))
        #expect(mermaid.contains("  x2[\"computed: ${C},s,1\"]\n"), "a computed context is outside every box")
        #expect(mermaid.contains("  c0_2 -->|\"if $[1] to open\"| c0_2\n"), "a label in its own extension")
        #expect(mermaid.contains("  c0_2 -->|\"to again\"| c1_0\n"))
        #expect(mermaid.contains("(open) Goto(b,5,again)"), "labels show on their steps")
    }

    @Test("a queue shows its members from the configuration, or that the configuration lacks it")
    func queueMembers() throws {
        let p = try plan("[a]\nexten => 1,1,Queue(support)\nexten => 2,1,Queue(sales)\nexten => 3,1,Queue(nosuch)\n")
        let names = ConfigurationNames(source: "omnigate.conf", queues: ["support": ["alice", "bob"], "sales": []], agents: ["alice", "bob"], trunks: [])
        let mermaid = DialplanGraph.render(p, format: .mermaid, names: names)
        #expect(mermaid.contains("  q0[\"queue support<br/>members: alice, bob\"]\n"))
        #expect(mermaid.contains("  q1[\"queue sales<br/>no members\"]\n"))
        #expect(mermaid.contains("  q2[\"queue nosuch<br/>not in omnigate.conf\"]\n"))
        #expect(mermaid.contains("  c0_0 -->|\"queue\"| q0\n"))
    }
}
