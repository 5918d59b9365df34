import LookoutCore
import LookoutModel

extension LookoutError {
    /// Runs `body` (a run of the model at `path`), every failure made a `LookoutError`: a model error keeps its
    /// own text as the message and becomes the cause; a `LookoutError` passes through; anything else is named after
    /// the model's path.
    static func naming<T>(_ path: String, _ body: () throws -> T) throws(LookoutError) -> T {
        do {
            return try body()
        } catch let error as ModelError {
            throw LookoutError(.inferenceFailure, error.description, cause: error)
        } catch let error as LookoutError {
            throw error
        } catch {
            throw LookoutError(.inferenceFailure, "\(path): \(error)", cause: error)
        }
    }
}
