import LookoutCUDA

/// What a pooled buffer waits on before it can be reused: the GPU work that reads it. The pool polls
/// `isSignaled` when it looks for a free buffer and blocks in `wait` only under back-pressure.
public protocol PoolFence: AnyObject {
    func isSignaled() throws -> Bool
    func wait() throws
}

extension CUDAEvent: PoolFence {
    public func isSignaled() throws -> Bool { try isComplete() }
    public func wait() throws { try synchronize() }
}

/// A fence signalled by hand, for pools whose consumer is on the CPU (and for tests).
public final class ManualFence: PoolFence, @unchecked Sendable {
    private var signaled = true
    public init() {}
    public func arm() { signaled = false }
    public func signal() { signaled = true }
    public func isSignaled() throws -> Bool { signaled }
    public func wait() throws {
        precondition(signaled, "waiting on a manual fence nobody will signal")
    }
}
