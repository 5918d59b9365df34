import LookoutModel

/// A user-facing failure of a Lookout command: one line, naming the file or stream and the problem.
public struct LookoutError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension LookoutError {
    /// Runs `body` (a run of the model at `path`), every failure made one line: a model error's own text, a
    /// `LookoutError` as it is, anything else after the model's path.
    static func naming<T>(_ path: String, _ body: () throws -> T) throws(LookoutError) -> T {
        do {
            return try body()
        } catch let error as ModelError {
            throw LookoutError(error.description)
        } catch let error as LookoutError {
            throw error
        } catch {
            throw LookoutError("\(path): \(error)")
        }
    }
}
