import LookoutCUDA
import Testing
@testable import LookoutCUDABackend

@Test func tmpPtxasReport() throws {
    guard case .success(let nvrtc) = NVRTC.load() else { return }
    let out = try nvrtc.compile(source: EngineKernelSource.source + NMSKernelSource.source.replacingOccurrences(of: "typedef long long i64;", with: ""), name: "engine.cu", options: ["--gpu-architecture=sm_90", "--std=c++17", "--ptxas-options=-v"], kind: .cubin)
    print(out.log)
}
