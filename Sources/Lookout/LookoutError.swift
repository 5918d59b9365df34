/// A user-facing failure of a Lookout command: one line, naming the file or stream and the problem.
public struct LookoutError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
