import CLookoutCUDA
import LookoutCore
import Synchronization

/// NVIDIA's management library (NVML, `libnvidia-ml.so.1`, installed with the driver), loaded at run time for the
/// engines' utilisation that benchmarks report.
package final class NVML: Sendable {
    package static let pathVariable = "LOOKOUT_NVML_PATH"

    package let path: String
    let library: DynamicLibrary
    let api: NVMLAPI

    init(library: DynamicLibrary, path: String, api: NVMLAPI) {
        self.library = library
        self.path = path
        self.api = api
    }

    private static let cached = Mutex<Result<NVML, NVMLUnavailable>?>(nil)

    /// Loads and initialises NVML once per process; later calls return the same result.
    package static func load(environment: [String: String] = SystemInfo.environmentVariables) -> Result<
        NVML, NVMLUnavailable
    > {
        cached.withLock { state in
            if let state { return state }
            let search = LibrarySearch.toolkitLibrary(
                "NVML (libnvidia-ml)", names: ["libnvidia-ml.so.1", "libnvidia-ml.so"], variable: pathVariable,
                environment: environment)
            let result: Result<NVML, NVMLUnavailable>
            switch search.load() {
            case .failure(let notFound): result = .failure(NVMLUnavailable(description: notFound.description))
            case .success(let library):
                switch NVMLAPI.load(from: library) {
                case .failure(let missing): result = .failure(NVMLUnavailable(description: missing.description))
                case .success(let api):
                    let status = api.nvmlInit()
                    if status != 0 {
                        let text = api.nvmlErrorString(status).map { String(cString: $0) } ?? "error \(status)"
                        result = .failure(NVMLUnavailable(description: "\(library.path): nvmlInit_v2 failed: \(text)"))
                    } else {
                        result = .success(NVML(library: library, path: library.resolvedPath(), api: api))
                    }
                }
            }
            state = result
            return result
        }
    }

    /// Percent of the last sampling period in which GPU `index`'s video decoders were busy, and of the period in
    /// which a kernel ran.
    package func utilisation(device index: Int) throws(NVMLUnavailable) -> (decoder: Int, gpu: Int) {
        var device: LookoutNVMLDevice? = nil
        try check(api.nvmlDeviceGetHandleByIndex(UInt32(index), &device), "nvmlDeviceGetHandleByIndex_v2")
        var decoder: UInt32 = 0
        var period: UInt32 = 0
        try check(api.nvmlDeviceGetDecoderUtilization(device, &decoder, &period), "nvmlDeviceGetDecoderUtilization")
        var rates = LookoutNVMLUtilization()
        try check(api.nvmlDeviceGetUtilizationRates(device, &rates), "nvmlDeviceGetUtilizationRates")
        return (Int(decoder), Int(rates.gpu))
    }

    private func check(_ status: Int32, _ call: String) throws(NVMLUnavailable) {
        guard status != 0 else { return }
        let text = api.nvmlErrorString(status).map { String(cString: $0) } ?? "error \(status)"
        throw NVMLUnavailable(description: "\(call): \(text)")
    }
}

/// NVML cannot be used, or a query failed; one line.
package struct NVMLUnavailable: Error, CustomStringConvertible, Sendable {
    package let description: String
}
