import CLookoutCUDA
import Foundation
import Testing

@testable import LookoutCUDA

@Suite struct KernelInfrastructureTests {
    @Test func cacheKeyChangesWithEveryInput() {
        let base = KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 13000, nvrtcVersion: (13, 0))
        #expect(base.count == 32)
        #expect(
            base == KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 13000, nvrtcVersion: (13, 0)))
        #expect(
            base != KernelCompiler.cacheKey(source: "b", options: ["-x"], driverVersion: 13000, nvrtcVersion: (13, 0)))
        #expect(
            base != KernelCompiler.cacheKey(source: "a", options: ["-y"], driverVersion: 13000, nvrtcVersion: (13, 0)))
        #expect(
            base != KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 12080, nvrtcVersion: (13, 0)))
        #expect(
            base != KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 13000, nvrtcVersion: (12, 9)))
    }

    @Test func cacheDirectoryFollowsTheXDGConvention() {
        #expect(KernelCompiler.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/c"]) == "/c/lookout/nvrtc")
        #expect(KernelCompiler.defaultCacheDirectory(environment: ["HOME": "/h"]) == "/h/.cache/lookout/nvrtc")
        #expect(KernelCompiler.defaultCacheDirectory(environment: [:]) == "/tmp/lookout/nvrtc")
    }

    @Test func argumentsArePackedInOrderIn16ByteSlots() {
        let values: [UInt8] = KernelArguments.withPacked(
            Int32(7), DevicePointer(address: 0x1122_3344_5566_7788), Float(1.5)
        ) {
            pointers, count in
            #expect(count == 3)
            #expect(pointers[0]!.load(as: Int32.self) == 7)
            #expect(pointers[1]!.load(as: UInt64.self) == 0x1122_3344_5566_7788)
            #expect(pointers[2]!.load(as: Float.self) == 1.5)
            #expect(pointers[1]! - pointers[0]! == 16)
            return [1]
        }
        #expect(values == [1])
    }

    @Test func errorsCarryTheDriverWords() {
        let error = CUDAError(
            code: .outOfMemory, name: "CUDA_ERROR_OUT_OF_MEMORY", message: "out of memory", call: "cuMemAlloc")
        #expect(error.description == "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory")
        switch error {
        case CUDAError.Code.outOfMemory: break
        default: Issue.record("code did not match")
        }
    }
}
