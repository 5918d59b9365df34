/// The device a `Detector` runs on: `auto` (the first GPU when CUDA works, else the CPU), `cpu`, or `cuda(ordinal:)`;
/// `init(parsing:)` reads `auto`, `cpu`, `cuda` and `cuda:N`.
public enum DeviceRequest: Equatable, Sendable, CustomStringConvertible {
    case auto
    case cpu
    case cuda(ordinal: Int)

    public init(parsing text: String) throws(DeviceRequestError) {
        let lower = text.lowercased()
        switch lower {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "cuda": self = .cuda(ordinal: 0)
        default:
            guard lower.hasPrefix("cuda:"), let ordinal = Int(lower.dropFirst(5)), ordinal >= 0 else {
                throw DeviceRequestError(text: text)
            }
            self = .cuda(ordinal: ordinal)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .cuda(let ordinal): return "cuda:\(ordinal)"
        }
    }

    /// The device to run on. `auto` never fails (it falls back to the CPU with the reason); `cuda` fails with
    /// the loader's one-line account of what it searched.
    package func resolve(
        loader: () -> Result<CUDADriver, CUDAUnavailable> = { CUDA.load() }
    ) -> Result<ResolvedDevice, CUDAUnavailable> {
        switch self {
        case .cpu:
            return .success(.cpu(reason: "--device cpu"))
        case .auto:
            switch loader() {
            case .success(let driver): return .success(.cuda(driver: driver, ordinal: 0))
            case .failure(let unavailable): return .success(.cpu(reason: unavailable.description))
            }
        case .cuda(let ordinal):
            switch loader() {
            case .failure(let unavailable): return .failure(unavailable)
            case .success(let driver):
                guard ordinal < driver.deviceCount else {
                    return .failure(
                        CUDAUnavailable(
                            reason: .badOrdinal(path: driver.path, ordinal: ordinal, count: driver.deviceCount)))
                }
                return .success(.cuda(driver: driver, ordinal: ordinal))
            }
        }
    }
}

/// A `--device` value that is none of `auto`, `cpu`, `cuda`, `cuda:N`.
public struct DeviceRequestError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public var description: String { "unknown device '\(text)': use auto, cpu, cuda or cuda:N" }
}

/// The device a command runs on, and why.
package enum ResolvedDevice: Sendable, CustomStringConvertible {
    case cpu(reason: String)
    case cuda(driver: CUDADriver, ordinal: Int)

    /// One line for `--device auto` to print: which device, and why not the GPU when it fell back.
    package var description: String {
        switch self {
        case .cpu(let reason): return "device: cpu (\(reason))"
        case .cuda(let driver, let ordinal):
            let name = (try? driver.device(ordinal).description) ?? "cuda:\(ordinal)"
            return "device: \(name), driver \(driver.versionString) (\(driver.path))"
        }
    }
}
