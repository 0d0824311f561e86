// swift-tools-version:6.0
// Omnigate: a telephony-first communications gateway on PJSIP.
// No package dependencies: Foundation, Dispatch, Swift Testing, and C libraries
// from Debian -dev packages through system-library targets (see README).
import PackageDescription

let package = Package(
    name: "Omnigate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "omnigate", targets: ["omnigate"]),
    ],
    targets: [
        // C libraries, each owned by exactly one Swift module.
        .systemLibrary(name: "CPJSIP", pkgConfig: "libpjproject",
                       providers: [.apt(["libpjproject-dev (built by scripts/setup.sh)"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CMalloc", providers: [.apt(["libc6-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Leaf modules: none of these imports another, except Log.
        .target(name: "Log"),
        .target(name: "Configuration"),
        .target(name: "SIPEngine", dependencies: ["CPJSIP", "Log"]),
        .target(name: "Dialplan"),
        // libphonenumber (Debian libphonenumber-dev) has a C++ API only: a small C wrapper of our own.
        .target(name: "CPhoneNumbers", linkerSettings: [.linkedLibrary("phonenumber")]),
        .target(name: "Timeline", dependencies: ["CSQLite", "CLibPQ", "CPhoneNumbers"]),

        // Where they meet, and the executable.
        .target(name: "Gateway", dependencies: ["SIPEngine", "Dialplan", "Timeline", "Configuration", "Log"]),
        // The HTTP API: the gateway's public API over libmicrohttpd.
        .target(name: "HTTPAPI", dependencies: ["Gateway", "Dialplan", "Timeline", "Configuration", "Log", "CMicroHTTPD", "CCrypto"],
                resources: [.copy("Console")]),
        .executableTarget(name: "omnigate", dependencies: ["Gateway", "HTTPAPI", "SIPEngine", "Dialplan", "Timeline", "Configuration",
                                                           "Log", "CSystemd", "CMalloc"]),

        // Benchmarks: programs that print figures, never run by `swift test`.
        .executableTarget(name: "pjsua-autoanswer", dependencies: ["CPJSIP"], path: "Benchmarks/pjsua-autoanswer"),
        .executableTarget(name: "dialplan-bench", dependencies: ["Dialplan"], path: "Benchmarks/DialplanBench"),
        .executableTarget(name: "timeline-bench", dependencies: ["Timeline", "CSQLite"], path: "Benchmarks/TimelineBench"),
        .executableTarget(name: "call-load", dependencies: ["SIPEngine"], path: "Benchmarks/CallLoad"),
        // Starts its own PostgreSQL server as the tests do (OmnigateTestSupport's PostgresServer).
        .executableTarget(name: "store-bench", dependencies: ["Timeline", "CLibPQ", "OmnigateTestSupport"], path: "Benchmarks/StoreBench"),

        // Tests.
        .target(name: "OmnigateTestSupport", path: "Tests/OmnigateTestSupport"),
        .testTarget(name: "LogTests", dependencies: ["Log"]),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration"]),
        .testTarget(name: "SIPEngineTests", dependencies: ["SIPEngine", "OmnigateTestSupport"]),
        .testTarget(name: "DialplanTests", dependencies: ["Dialplan", "OmnigateTestSupport"]),
        .testTarget(name: "TimelineTests", dependencies: ["Timeline", "OmnigateTestSupport"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Dialplan", "Timeline", "Configuration", "OmnigateTestSupport"]),
        .testTarget(name: "HTTPAPITests", dependencies: ["HTTPAPI", "Timeline", "OmnigateTestSupport"]),
        // The agent console in headless Chromium (Selenium), against the real gateway and SIPp.
        .testTarget(name: "ConsoleTests", dependencies: ["Timeline", "OmnigateTestSupport"], exclude: ["browser"]),
    ]
)
