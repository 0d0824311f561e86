import Foundation

/// Starts a long-lived server (PostgreSQL) as a shell would: a child of the test runner
/// inherits its signal mask (SIGALRM and SIGTERM blocked) and every descriptor it has open
/// (hundreds of sockets and pipes under a full run). A server would keep those pipes open for its
/// whole life, and PostgreSQL refuses to start with too many ("insufficient file descriptors").
/// python3 (installed by scripts/setup.sh)
/// unblocks every signal, closes every descriptor above 2 and then becomes the program.
public enum CleanStart {
    static let script = """
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.execv(sys.argv[1], sys.argv[1:])
        """

    /// The program and arguments that start `executable` with `arguments`, clean.
    public static func command(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        ("/usr/bin/python3", ["-c", script, executable] + arguments)
    }
}
