import ArgumentParser
import LookoutCUDA

extension DeviceRequest: ExpressibleByArgument {
    public init?(argument: String) {
        guard let request = try? DeviceRequest(parsing: argument) else { return nil }
        self = request
    }

    public static var defaultCompletionKind: CompletionKind { .list(["auto", "cpu", "cuda", "cuda:0"]) }
}
