@testable import Configuration
import Foundation
import Testing

@Suite("omnigate.conf")
struct ConfigurationTests {
    private func errors(_ text: String) -> [String] {
        do {
            _ = try GatewayConfig.parse(text, file: "omnigate.conf")
            return []
        } catch let error as ConfigError {
            return error.diagnostics.map(\.description)
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test("the shipped Config/omnigate.conf states exactly the built-in defaults")
    func shippedFileIsTheDefaults() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Config/omnigate.conf").path
        #expect(try GatewayConfig.load(path: path) == GatewayConfig())
    }

    @Test("settings are read with comments, spaces, => and escaped semicolons")
    func readsSettings() throws {
        let config = try GatewayConfig.parse("""
        ; a comment
        [general]
        log_level=debug   ; trailing comment
        user_agent => Omnigate\\;test
        max_calls = 50

        [sip]
        udp = 127.0.0.1:0
        tcp = off
        rtp_port_start = 20000
        [store]
        path = /tmp/x.sqlite
        default_country = gb
        """, file: "t.conf")
        #expect(config.general.logLevel == "debug")
        #expect(config.general.userAgent == "Omnigate;test")
        #expect(config.general.maxCalls == 50)
        #expect(config.sip.udp == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(config.sip.tcp == nil)
        #expect(config.sip.rtpPortStart == 20000)
        #expect(config.store.defaultCountry == "GB")
    }

    @Test("IPv6 listen addresses are written in brackets")
    func ipv6() throws {
        let config = try GatewayConfig.parse("[sip]\nudp = [::1]:5070\n", file: "t.conf")
        #expect(config.sip.udp == ListenAddress(host: "::1", port: 5070))
        #expect(errors("[sip]\nudp = ::1:5070\n") == [
            "omnigate.conf:2: error: bad value '::1:5070' for 'udp' in [sip]: expected host:port (such as 0.0.0.0:5060) or off",
        ])
    }

    @Test("an unknown section is an error naming the known ones")
    func unknownSection() {
        #expect(errors("[sipp]\nudp = 1.2.3.4:5\n") == [
            "omnigate.conf:1: error: unknown section [sipp]; known: [general], [sip], [store], [dialplan], [media], "
                + "[screenpop], [http], [trunk NAME], [agent NAME], [queue NAME], [token NAME], [webhook NAME]",
        ])
    }

    @Test("an unknown key is an error naming the keys the section takes")
    func unknownKey() {
        #expect(errors("[general]\nloglevel = debug\n") == [
            "omnigate.conf:2: error: unknown setting 'loglevel' in [general]; known: log_level, user_agent, max_calls, drain_time, log_format, system_name",
        ])
    }

    @Test("a bad value names the key, the value and what is expected")
    func badValues() {
        #expect(errors("[sip]\nudp = 127.0.0.1:99999\n") == [
            "omnigate.conf:2: error: bad value '127.0.0.1:99999' for 'udp' in [sip]: expected host:port (such as 0.0.0.0:5060) or off",
        ])
        #expect(errors("[general]\nmax_calls = lots\n") == [
            "omnigate.conf:2: error: bad value 'lots' for 'max_calls' in [general]: expected a whole number from 1 to 4000",
        ])
        #expect(errors("[general]\nlog_level = chatty\n") == [
            "omnigate.conf:2: error: bad value 'chatty' for 'log_level' in [general]: expected debug, info, warning or error",
        ])
        #expect(errors("[store]\ndefault_country = USA\n") == [
            "omnigate.conf:2: error: bad value 'USA' for 'default_country' in [store]: expected a two-letter country code such as US or GB",
        ])
    }

    @Test("[store]: a backend is sqlite or postgresql, postgresql needs a connection, the pool is bounded")
    func storeBackend() throws {
        #expect(errors("[store]\nbackend = mysql\n") == [
            "omnigate.conf:2: error: bad value 'mysql' for 'backend' in [store]: expected sqlite or postgresql",
        ])
        #expect(errors("[store]\nbackend = postgresql\n") == [
            "omnigate.conf:2: error: [store] backend = postgresql needs 'connection': a libpq connection string such as "
                + "'host=/run/postgresql dbname=omnigate', or a postgresql:// URI",
        ])
        #expect(errors("[store]\nbackend = postgresql\nconnection = dbname=x\npool_size = 0\n") == [
            "omnigate.conf:4: error: bad value '0' for 'pool_size' in [store]: expected a whole number from 1 to 64",
        ])
        let config = try GatewayConfig.parse("[store]\nbackend = PostgreSQL\nconnection = dbname=omnigate\npool_size = 8\n", file: "t.conf")
        #expect(config.store.backend == .postgresql && config.store.poolSize == 8)
    }

    @Test("a store's name in logs never holds its password", arguments: [
        ("host=db dbname=omnigate user=og password=s3cret", "postgresql host=db dbname=omnigate user=og"),
        ("postgresql://og:s3cret@db.example.net:5432/omnigate", "postgresql://og@db.example.net:5432/omnigate"),
        ("postgresql://og@db/omnigate?password=s3cret&sslmode=require", "postgresql://og@db/omnigate?sslmode=require"),
        ("postgresql://og@db/omnigate?sslmode=require&password=s3cret", "postgresql://og@db/omnigate?sslmode=require"),
        ("postgresql://og@/omnigate?host=/run/postgresql", "postgresql://og@/omnigate?host=/run/postgresql"),
    ])
    func storeDisplayName(connection: String, shown: String) {
        var store = GatewayConfig.Store()
        store.backend = .postgresql
        store.connection = connection
        #expect(store.displayName == shown)
        #expect(!store.displayName.contains("s3cret"))
    }

    @Test("a key set twice is an error pointing at both lines")
    func duplicateKey() {
        #expect(errors("[general]\nmax_calls = 5\nmax_calls = 6\n") == [
            "omnigate.conf:3: error: 'max_calls' is set twice in [general] (first at line 2)",
        ])
    }

    @Test("a section given twice is an error")
    func duplicateSection() {
        #expect(errors("[sip]\n[general]\n[sip]\n") == [
            "omnigate.conf:3: error: section [sip] appears twice (first at line 1)",
        ])
    }

    @Test("lines that are not settings, headers or comments are errors")
    func syntaxErrors() {
        #expect(errors("udp = 1.2.3.4:5\n[sip\n[general]\njust words\n= 5\n") == [
            "omnigate.conf:1: error: 'udp' is outside any section; put it under a [section] header",
            "omnigate.conf:2: error: a section header looks like [name]; got '[sip'",
            "omnigate.conf:4: error: expected 'key = value'; got 'just words'",
            "omnigate.conf:5: error: a setting needs a name before '='",
        ])
    }

    @Test("every problem in a file is reported, in line order")
    func allProblems() {
        let found = errors("[general]\nmax_calls = 0\nbogus = 1\n[sip]\ntcp = nowhere\n")
        #expect(found.count == 3)
        #expect(found.map { $0.prefix(16) } == ["omnigate.conf:2:", "omnigate.conf:3:", "omnigate.conf:5:"])
    }

    @Test("turning off every transport is an error")
    func noTransports() {
        #expect(errors("[sip]\nudp = off\ntcp = off\n") == [
            "omnigate.conf:1: error: every SIP transport is off; turn on udp, tcp or tls in [sip]",
        ])
    }

    @Test("limits, transfers, TLS and media encryption are read; an empty user_agent means none")
    func securitySettings() throws {
        let directory = NSTemporaryDirectory() + "config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in ["cert.pem", "key.pem"] { FileManager.default.createFile(atPath: directory + "/" + file, contents: Data("x".utf8)) }
        let config = try GatewayConfig.parse("""
        [general]
        user_agent =
        [sip]
        tls = 0.0.0.0:5061
        tls_certificate = \(directory)/cert.pem
        tls_private_key = \(directory)/key.pem
        tls_verify_client = yes
        requests_per_second = 5
        request_burst = 10
        connections_per_source = 3
        max_connections = 100
        idle_timeout = 20s
        [screenpop]
        require_tls = yes
        [trunk carrier]
        match = 192.0.2.1
        context = from-carrier
        host = sips:192.0.2.1:5061
        transfer = yes
        transfer_context = carrier-transfers
        media_encryption = sdes
        media_encryption_optimistic = yes
        require_tls = yes
        [agent alice]
        contact = sips:alice@192.0.2.20:5061
        context = alice-plan
        transfer = no
        media_encryption = sdes
        require_tls = yes
        """, file: "t.conf")
        #expect(config.general.userAgent == "")
        #expect(config.sip.tls == ListenAddress(host: "0.0.0.0", port: 5061) && config.sip.tlsVerifyClient && config.sip.tlsVerifyServer)
        #expect(config.sip.requestsPerSecond == 5 && config.sip.requestBurst == 10 && config.sip.connectionsPerSource == 3)
        #expect(config.sip.maxConnections == 100 && config.sip.idleTimeout == .seconds(20))
        #expect(config.screenPop.requireTLS)
        let trunk = try #require(config.trunks.first)
        #expect(trunk.transfer && trunk.transferContext == "carrier-transfers" && trunk.requireTLS)
        #expect(trunk.media.sdes && trunk.media.optimistic)
        let alice = try #require(config.agents.first)
        #expect(alice.context == "alice-plan" && !alice.transfer && alice.media.sdes && !alice.media.optimistic && alice.requireTLS)
        #expect(GatewayConfig().agents.isEmpty && Agent(name: "x", location: .init(file: "", line: 0)).transfer)
        #expect(!GatewayConfig().trunks[0].transfer)
    }

    @Test("an agent logs in with a username and a password or its hash; contact is then optional")
    func agentLogins() throws {
        let config = try GatewayConfig.parse("""
        [sip]
        realm = example.com
        [agent alice]
        password = s3cret
        max_contacts = 2
        qualify_frequency = 0
        [agent bob]
        username = 1002
        password_hash = 0123456789ABCDEF0123456789abcdef
        """, file: "t.conf")
        #expect(config.sip.realm == "example.com")
        let alice = try #require(config.agents.first)
        #expect(alice.username == "alice" && alice.password == "s3cret" && alice.registers && alice.contact.isEmpty)
        #expect(alice.maxContacts == 2 && alice.qualifyFrequency == nil)
        let bob = try #require(config.agents.last)
        #expect(bob.username == "1002" && bob.passwordHash == "0123456789abcdef0123456789abcdef" && bob.qualifyFrequency == .seconds(60))
        #expect(errors("""
        [agent a]
        password = x
        password_hash = nothex
        [agent b]
        username = a
        password = y
        password_hash = 0123456789abcdef0123456789abcdef
        """) == [
            "omnigate.conf:3: error: bad value 'nothex' for 'password_hash' in [agent a]: expected 32 hex digits: MD5 of username:realm:password",
            "omnigate.conf:4: error: [agent b] has username 'a', which [agent a] has too",
            "omnigate.conf:4: error: [agent b] has both 'password' and 'password_hash'; keep one",
        ])
    }

    @Test("a bad value for an optional setting is an error, not the setting left unset")
    func badOptionalValues() {
        #expect(errors("[trunk t]\nmatch = 192.0.2.1\ncontext = c\nmessage_context = bad name\nhost = http://x\n") == [
            "omnigate.conf:4: error: bad value 'bad name' for 'message_context' in [trunk t]: expected a dialplan context name",
            "omnigate.conf:5: error: bad value 'http://x' for 'host' in [trunk t]: expected a SIP URI such as sip:203.0.113.5:5060",
        ])
    }

    @Test("TLS without its files, and TLS required where there is none, are errors")
    func tlsErrors() {
        #expect(errors("[sip]\ntls = 127.0.0.1:5061\n") == [
            "omnigate.conf:1: error: [sip] tls is on, so it needs 'tls_certificate'",
            "omnigate.conf:1: error: [sip] tls is on, so it needs 'tls_private_key'",
        ])
        #expect(errors("[sip]\ntls = 127.0.0.1:5061\ntls_certificate = /nonexistent/c.pem\ntls_private_key = /nonexistent/k.pem\n") == [
            "omnigate.conf:1: error: [sip] tls_certificate: cannot read /nonexistent/c.pem",
            "omnigate.conf:1: error: [sip] tls_private_key: cannot read /nonexistent/k.pem",
        ])
        #expect(errors("""
        [trunk carrier]
        match = 192.0.2.1
        context = c
        host = sip:192.0.2.1
        require_tls = yes
        media_encryption = zrtp
        [agent alice]
        contact = sip:alice@192.0.2.20
        require_tls = yes
        """) == [
            "omnigate.conf:1: error: [trunk carrier] requires TLS, but [sip] tls is off",
            "omnigate.conf:1: error: [trunk carrier] requires TLS, so its host must be sips: or have ;transport=tls",
            "omnigate.conf:6: error: bad value 'zrtp' for 'media_encryption' in [trunk carrier]: expected no or sdes",
            "omnigate.conf:7: error: [agent alice] requires TLS, but [sip] tls is off",
            "omnigate.conf:7: error: [agent alice] requires TLS, so its contact must be sips: or have ;transport=tls",
        ])
    }

    @Test("a missing file is an error naming it")
    func missingFile() {
        #expect(throws: ConfigError.self) { try GatewayConfig.load(path: "/nonexistent/omnigate.conf") }
        do {
            _ = try GatewayConfig.load(path: "/nonexistent/omnigate.conf")
        } catch {
            #expect("\(error)" == "/nonexistent/omnigate.conf:0: error: cannot read the configuration file: no such file")
        }
    }

    @Test("trunks, agents and queues are read, and queue members settle in order")
    func routing() throws {
        let config = try GatewayConfig.parse("""
        [trunk provider]
        match = 192.0.2.0/24, 127.0.0.1:5070, ::1
        context = from-provider
        message_context = sms-in
        host = sip:192.0.2.1:5060
        username = gw
        password = secret
        register = yes
        [agent alice]
        name = Alice Example
        contact = sip:alice@127.0.0.1:5071
        queues = support
        [agent bob]
        contact = sip:bob@127.0.0.1:5072
        queues = support, sales
        [queue support]
        strategy = sticky
        fallback = leastrecent
        members = bob
        ring_timeout = 10s
        wrapup = 500ms
        [queue sales]
        """, file: "t.conf")
        let trunk = try #require(config.trunks.first)
        #expect(trunk.name == "provider" && trunk.context == "from-provider" && trunk.messageContext == "sms-in")
        #expect(trunk.match.map(\.description) == ["192.0.2.0/24", "127.0.0.1:5070", "::1"])
        #expect(trunk.match[0].contains(host: "192.0.2.77", port: 5060))
        #expect(!trunk.match[0].contains(host: "192.0.3.1", port: 5060))
        #expect(trunk.match[1].contains(host: "127.0.0.1", port: 5070) && !trunk.match[1].contains(host: "127.0.0.1", port: 5071))
        #expect(trunk.match[2].contains(host: "::1", port: 1))
        #expect(config.agents.map(\.displayName) == ["Alice Example", "bob"])
        let support = try #require(config.queues.first { $0.name == "support" })
        #expect(support.strategy == .sticky && support.fallback == .leastrecent)
        #expect(support.members == ["bob", "alice"])
        #expect(support.ringTimeout == .seconds(10) && support.wrapUp == .milliseconds(500))
        #expect(config.queues.first { $0.name == "sales" }?.members == ["bob"])
    }

    @Test("trunks, agents and queues that refer to nothing, or lack what they need, are errors")
    func routingErrors() {
        #expect(errors("""
        [trunk a]
        match = 192.0.2.300
        [trunk b]
        context = x
        [agent alice]
        queues = nowhere
        [queue q]
        strategy = fastest
        members = carol
        [trunk b]
        context = y
        match = 10.0.0.1
        """) == [
            "omnigate.conf:1: error: [trunk a] needs 'context', the dialplan context its calls enter",
            "omnigate.conf:1: error: [trunk a] needs 'match' (sources it accepts), 'register = yes' or 'host'",
            "omnigate.conf:2: error: bad value '192.0.2.300' for 'match' in [trunk a]: expected IP addresses or networks, "
                + "such as 192.0.2.10, 192.0.2.0/24 or 127.0.0.1:5070",
            "omnigate.conf:3: error: [trunk b] needs 'match' (sources it accepts), 'register = yes' or 'host'",
            "omnigate.conf:5: error: [agent alice] needs 'contact' (where its phone is) or 'password' (so its phones can register)",
            "omnigate.conf:5: error: [agent alice] serves queue 'nowhere', which is not defined",
            "omnigate.conf:7: error: [queue q] lists member 'carol', which is not an [agent]",
            "omnigate.conf:8: error: bad value 'fastest' for 'strategy' in [queue q]: expected one of ringall, roundrobin, "
                + "leastrecent, fewestcalls, linear, random, sticky",
            "omnigate.conf:10: error: section [trunk b] appears twice (first at line 3)",
        ])
    }

    @Test("the store's bad-day settings: backlog, spill file, when full, when the file changes, WAL limit")
    func storeSettings() throws {
        let config = try GatewayConfig.parse("""
        [general]
        log_format = JSON
        system_name = pbx-1.east
        [store]
        path = /var/lib/omnigate/omnigate.sqlite
        backlog = 5000
        spill = /var/spool/omnigate
        spill_size = 512KB
        spill_after = 2s
        when_full = accept
        when_file_changes = refuse
        wal_limit = 1GB
        """, file: "t.conf")
        #expect(config.general.logFormat == "json" && config.general.systemName == "pbx-1.east")
        #expect(config.store.backlog == 5000 && config.store.spillSize == 512 << 10 && config.store.spillAfter == .seconds(2))
        #expect(!config.store.refuseWhenFull && !config.store.reopenWhenChanged && config.store.walLimit == 1 << 30)
        #expect(config.store.spillPath == "/var/spool/omnigate/omnigate.sqlite.spill")
        #expect(GatewayConfig().store.spillPath == "var/omnigate.sqlite.spill")
        let off = try GatewayConfig.parse("[store]\nspill = off\n", file: "t.conf")
        #expect(!off.store.spillEnabled)
    }

    @Test("bad store and logging settings name the key, the value and what is expected")
    func badStoreSettings() {
        #expect(errors("""
        [general]
        log_format = xml
        system_name = pbx one
        [store]
        backlog = 10
        spill_size = lots
        spill_after = soon
        when_full = panic
        when_file_changes = ignore
        wal_limit = 1KB
        """) == [
            "omnigate.conf:2: error: bad value 'xml' for 'log_format' in [general]: expected text or json",
            "omnigate.conf:3: error: bad value 'pbx one' for 'system_name' in [general]: expected letters, digits, '.', '-' or '_', at most 32",
            "omnigate.conf:5: error: bad value '10' for 'backlog' in [store]: expected a whole number from 100 to 10000000",
            "omnigate.conf:6: error: bad value 'lots' for 'spill_size' in [store]: expected a size such as 512KB, 16MB or 1GB, from 4096 bytes to 1TB",
            "omnigate.conf:7: error: bad value 'soon' for 'spill_after' in [store]: expected a duration such as 250ms, 2s, 5m, 12h or 7d",
            "omnigate.conf:8: error: bad value 'panic' for 'when_full' in [store]: expected refuse or accept",
            "omnigate.conf:9: error: bad value 'ignore' for 'when_file_changes' in [store]: expected reopen or refuse",
            "omnigate.conf:10: error: bad value '1KB' for 'wal_limit' in [store]: expected a size such as 512KB, 16MB or 1GB, from 1048576 bytes to 1TB",
        ])
    }
}
