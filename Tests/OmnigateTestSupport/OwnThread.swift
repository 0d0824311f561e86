// Test support: blocking work kept off Swift's concurrency pool.

import Foundation

/// Runs blocking work (a socket read with a timeout, a wait on a child) on a
/// thread of its own and returns its result.
///
/// Swift's concurrency pool has one thread per core; tests that block it
/// stall every other test in the run, and their timeouts fire late.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
