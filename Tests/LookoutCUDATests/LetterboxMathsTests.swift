import CLookoutCUDA
import Foundation
import Testing

@testable import LookoutCUDA

@Suite struct LetterboxGeometryTests {
    // (h, w) → new_unpad (w, h) and top, bottom, left, right, from ../shared/reference/letterbox_vectors.json.
    @Test(arguments: [
        (1080, 810, 480, 640, 0, 0, 80, 80), (720, 1280, 640, 360, 140, 140, 0, 0), (427, 640, 640, 427, 106, 107, 0, 0),
        (1280, 1001, 500, 640, 0, 0, 70, 70), (1278, 1001, 501, 640, 0, 0, 69, 70), (1, 3000, 640, 1, 319, 320, 0, 0),
        (7, 13, 640, 345, 147, 148, 0, 0), (1001, 1280, 640, 500, 70, 70, 0, 0),
    ])
    func matchesUltralytics(h: Int, w: Int, nw: Int, nh: Int, top: Int, bottom: Int, left: Int, right: Int) {
        let g = GPULetterboxGeometry(sourceWidth: w, sourceHeight: h)
        #expect(g.resizedWidth == nw && g.resizedHeight == nh)
        #expect(g.top == top && g.bottom == bottom && g.left == left && g.right == right)
    }

    @Test func resizeModesFollowOpenCV() {
        #expect(GPULetterboxGeometry(sourceWidth: 640, sourceHeight: 480).resizeMode == .copy)
        #expect(GPULetterboxGeometry(sourceWidth: 1280, sourceHeight: 1280).resizeMode == .area2x)
        #expect(GPULetterboxGeometry(sourceWidth: 1280, sourceHeight: 1001).resizeMode == .bilinear)
    }
}

@Suite struct LetterboxEmulatorTests {
    static func image(width: Int, height: Int) -> [UInt8] {
        (0..<(width * height * 3)).map { UInt8((UInt64($0) &* 2_654_435_761 & 0xFFFF_FFFF) >> 24) }
    }

    // Sums of cv2.resize(INTER_LINEAR) + copyMakeBorder(114) over the same synthetic image (plain and position
    // weighted), computed with OpenCV 5.0.0 and checked against ../shared/reference/cv2_linear_port.py.
    @Test(arguments: [
        (13, 7, 148_239_724, 18_677_374_027), (3000, 1, 140_109_288, 17_652_982_880), (1, 3000, 140_109_110, 17_652_821_033),
        (1280, 1001, 152_920_960, 19_267_250_317), (1001, 1280, 152_978_469, 19_274_610_683),
        (1280, 1280, 156_991_330, 19_780_031_990), (640, 480, 152_524_721, 19_217_345_818),
        (1920, 1080, 149_414_570, 18_825_348_376), (641, 360, 149_300_037, 18_811_194_444),
    ])
    func kernelArithmeticEqualsOpenCV(width: Int, height: Int, sum: Int, weighted: Int) {
        let g = GPULetterboxGeometry(sourceWidth: width, sourceHeight: height)
        let out = LetterboxEmulator.letterboxBGR(Self.image(width: width, height: height), width: width, height: height, geometry: g)
        var s = 0
        var ws = 0
        for (i, v) in out.enumerated() {
            s += Int(v)
            ws += Int(v) * (i % 251 + 1)
        }
        #expect(s == sum)
        #expect(ws == weighted)
    }

    @Test func columnTapsClampAtBothBorders() {
        // Upscaling 13 → 640: the first columns sit left of pixel 0's centre, the last right of pixel 12's.
        let scale = GPULetterboxGeometry(sourceWidth: 13, sourceHeight: 7).scaleX
        #expect(LetterboxEmulator.columnTap(0, scale: scale, sourceWidth: 13) == .init(index: 0, next: 1, w0: 2048, w1: 0))
        let last = LetterboxEmulator.columnTap(639, scale: scale, sourceWidth: 13)
        #expect(last.index == 12 && last.next == 12 && last.w0 == 2048 && last.w1 == 0)
        // Rows clamp the index but keep the fraction.
        let row = LetterboxEmulator.rowTap(0, scale: GPULetterboxGeometry(sourceWidth: 13, sourceHeight: 7).scaleY, sourceHeight: 7)
        #expect(row.index == 0 && row.next == 0 && row.w0 + row.w1 == 2048 && row.w1 > 0)
    }

    @Test func nv12ConversionMatchesOpenCV() {
        // cv2.cvtColor(COLOR_YUV2BGR_NV12) values for a few (Y, U, V).
        #expect(LetterboxEmulator.nv12ToBGR(y: 16, u: 128, v: 128) == (0, 0, 0))
        #expect(LetterboxEmulator.nv12ToBGR(y: 235, u: 128, v: 128) == (255, 255, 255))
        #expect(LetterboxEmulator.nv12ToBGR(y: 81, u: 90, v: 240) == (0, 0, 254))
    }
}

@Suite struct LetterboxKernelSourceTests {
    @Test func everyVariantHasAnEntryPoint() {
        let source = LetterboxKernelSource.source
        for format in PixelFormat.allCases {
            for element in TensorElement.allCases {
                for layout in TensorLayout.allCases {
                    let name = LetterboxKernelSource.entryPoint(format: format, element: element, layout: layout)
                    #expect(source.contains("void __launch_bounds__(256) \(name)("))
                }
            }
        }
        #expect(LetterboxKernelSource.entryPoint(format: .nv12, element: .float16, layout: .nhwc) == "lookout_letterbox_nv12_f16_nhwc")
    }

    @Test func kernelParameterBlockHasTheCLayout() {
        // Lay out the kernel's fields with C rules and compare with the header's struct as Swift imports it.
        var offset = 0
        for field in LetterboxKernelSource.parameterFields {
            let size = field.type == "int" ? 4 : 8
            offset = (offset + size - 1) / size * size + size
        }
        let size = (offset + 7) / 8 * 8
        #expect(size == MemoryLayout<LookoutLetterboxParams>.size)
        #expect(LetterboxKernelSource.parameterFields.count == 21)
        #expect(MemoryLayout<LookoutLetterboxParams>.offset(of: \.sourceWidth) == 40)
        #expect(MemoryLayout<LookoutLetterboxParams>.offset(of: \.padValue) == 100)
    }

    @Test func parametersSwapChannelsForRGBOutput() {
        let frame = DeviceFrame(pointer: DevicePointer(address: 4096), format: .bgr, width: 1920, height: 1080)
        let slot = TensorSlot(tensor: DevicePointer(address: 1 << 20), batchIndex: 3)
        let p = GPULetterbox.parameters(frame: frame, slot: slot, geometry: GPULetterboxGeometry(sourceWidth: 1920, sourceHeight: 1080))
        #expect((p.channel0, p.channel1, p.channel2) == (2, 1, 0))
        #expect(p.sourcePitch == 5760 && p.resizedHeight == 360 && p.padTop == 140 && p.batchIndex == 3)
        let rgb = GPULetterbox.parameters(
            frame: DeviceFrame(pointer: frame.pointer, format: .rgb, width: 8, height: 8), slot: slot,
            geometry: GPULetterboxGeometry(sourceWidth: 8, sourceHeight: 8))
        #expect((rgb.channel0, rgb.channel1, rgb.channel2) == (0, 1, 2))
    }

    static var nvrtc: NVRTC? {
        if case .success(let nvrtc) = NVRTC.load() { return nvrtc }
        return nil
    }

    // Runs where NVRTC is installed (a developer's machine with LOOKOUT_NVRTC_PATH, the GPU machine); CI has none.
    @Test(.enabled(if: LetterboxKernelSourceTests.nvrtc != nil, "NVRTC is not installed"))
    func compilesWithNVRTC() throws {
        let nvrtc = try #require(Self.nvrtc)
        let target = nvrtc.target(forCapability: 9, 0)
        let output = try nvrtc.compile(
            source: LetterboxKernelSource.source, name: "letterbox.cu", options: [target.option, "--std=c++17"], kind: target.kind)
        #expect(output.image.count > 1000)
    }

    @Test(.enabled(if: LetterboxKernelSourceTests.nvrtc != nil, "NVRTC is not installed"))
    func compileErrorsCarryTheLog() throws {
        let nvrtc = try #require(Self.nvrtc)
        do {
            _ = try nvrtc.compile(source: "__global__ void k() { undefined_thing(); }", name: "bad.cu", options: [], kind: .ptx)
            Issue.record("bad source compiled")
        } catch {
            #expect(error.log.contains("undefined_thing"))
        }
    }
}

@Suite struct KernelInfrastructureTests {
    @Test func cacheKeyChangesWithEveryInput() {
        let base = KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 13000, nvrtcVersion: (13, 0))
        #expect(base.count == 32)
        #expect(base == KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 13000, nvrtcVersion: (13, 0)))
        #expect(base != KernelCompiler.cacheKey(source: "b", options: ["-x"], driverVersion: 13000, nvrtcVersion: (13, 0)))
        #expect(base != KernelCompiler.cacheKey(source: "a", options: ["-y"], driverVersion: 13000, nvrtcVersion: (13, 0)))
        #expect(base != KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 12080, nvrtcVersion: (13, 0)))
        #expect(base != KernelCompiler.cacheKey(source: "a", options: ["-x"], driverVersion: 13000, nvrtcVersion: (12, 9)))
    }

    @Test func cacheDirectoryHonoursTheVariable() {
        #expect(KernelCompiler.defaultCacheDirectory(environment: ["LOOKOUT_CACHE_DIR": "/c"]).path == "/c/nvrtc")
        #expect(KernelCompiler.defaultCacheDirectory(environment: ["HOME": "/h"]).path == "/h/.cache/lookout/nvrtc")
    }

    @Test func argumentsArePackedInOrderIn16ByteSlots() {
        let values: [UInt8] = KernelArguments.withPacked(Int32(7), DevicePointer(address: 0x1122_3344_5566_7788), Float(1.5)) {
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
        let error = CUDAError(code: .outOfMemory, name: "CUDA_ERROR_OUT_OF_MEMORY", message: "out of memory", call: "cuMemAlloc")
        #expect(error.description == "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory")
        switch error {
        case CUDAError.Code.outOfMemory: break
        default: Issue.record("code did not match")
        }
    }
}
