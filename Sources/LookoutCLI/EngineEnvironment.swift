import LookoutCPU
import LookoutCUDABackend
import LookoutCore
import LookoutInference

/// The engine's tuning knobs from the environment, for experiments without a rebuild (the libraries themselves
/// take them as `EngineOptions` only): `LOOKOUT_CPU_THREADS`, `LOOKOUT_CPU_TILE_KB`, `LOOKOUT_CPU_WINOGRAD`
/// (0 off, 2 or 4), `LOOKOUT_CPU_WINOGRAD_S2=0`, `LOOKOUT_CPU_WINO_KB`, `LOOKOUT_CPU_SMALL_MIN`,
/// `LOOKOUT_CPU_PROFILE_CLOCK=thread`, `LOOKOUT_CUDNN=0`, `LOOKOUT_WGMMA=1`,
/// `LOOKOUT_FUSED_ATTENTION=0`, `LOOKOUT_CACHE_DIR`.
extension EngineOptions {
    static func fromEnvironment(precision: GPUPrecision = .fp16) -> EngineOptions {
        var options = EngineOptions()
        options.precision = precision
        func integer(_ name: String) -> Int? {
            SystemInfo.environment(name).flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        }
        options.cpu.threads = integer("LOOKOUT_CPU_THREADS")
        if let kb = integer("LOOKOUT_CPU_TILE_KB") { options.cpu.convolutionTileBytes = kb * 1024 }
        if let kb = integer("LOOKOUT_CPU_WINO_KB") { options.cpu.winogradBlockBytes = kb * 1024 }
        if let width = SystemInfo.environment("LOOKOUT_CPU_SMALL_MIN").flatMap({ Int($0) }) {
            options.cpu.smallGEMMMinimumWidth = width
        }
        options.cpu.strideTwoWinograd = SystemInfo.environment("LOOKOUT_CPU_WINOGRAD_S2") != "0"
        options.cpu.profileThreadTime = SystemInfo.environment("LOOKOUT_CPU_PROFILE_CLOCK") == "thread"
        switch SystemInfo.environment("LOOKOUT_CPU_WINOGRAD") {
        case "0": options.cpu.winograd = .off
        case "2": options.cpu.winograd = .f2
        case "4": options.cpu.winograd = .f4
        default: break
        }
        if let cudnn = SystemInfo.environment("LOOKOUT_CUDNN"),
            ["0", "off", "no", "false"].contains(cudnn.lowercased())
        {
            options.cudnn = false
        }
        options.wgmma = SystemInfo.environment("LOOKOUT_WGMMA") == "1"
        options.fusedAttention = SystemInfo.environment("LOOKOUT_FUSED_ATTENTION") != "0"
        options.cacheDirectory = SystemInfo.environment("LOOKOUT_CACHE_DIR")
        return options
    }
}
