import CLookoutCUDA
import Foundation
import LookoutCUDA
import LookoutMedia
import LookoutTestSupport
import LookoutYOLO
import Testing

@testable import LookoutCUDABackend

@Suite struct LetterboxReferenceTests {
    static func image(width: Int, height: Int) -> [UInt8] {
        (0..<(width * height * 3)).map { UInt8((UInt64($0) &* 2_654_435_761 & 0xFFFF_FFFF) >> 24) }
    }

    // Sums of cv2.resize(INTER_LINEAR) + copyMakeBorder(114) over the same synthetic image (plain and position
    // weighted), computed with OpenCV 5.0.0: LookoutYOLO's letterbox, the GPU kernel's reference, must give them.
    @Test(arguments: [
        (13, 7, 148_239_724, 18_677_374_027), (3000, 1, 140_109_288, 17_652_982_880),
        (1, 3000, 140_109_110, 17_652_821_033),
        (1280, 1001, 152_920_960, 19_267_250_317), (1001, 1280, 152_978_469, 19_274_610_683),
        (1280, 1280, 156_991_330, 19_780_031_990), (640, 480, 152_524_721, 19_217_345_818),
        (1920, 1080, 149_414_570, 18_825_348_376), (641, 360, 149_300_037, 18_811_194_444),
    ])
    func writerLetterboxEqualsOpenCV(width: Int, height: Int, sum: Int, weighted: Int) {
        let g = LetterboxGeometry(sourceWidth: width, sourceHeight: height, targetWidth: 640, targetHeight: 640)
        let bytes = Self.image(width: width, height: height)
        var out = BGRImage()
        var writer = LetterboxTensorWriter()
        bytes.withUnsafeBufferPointer { raw in
            let pixels = BGRPixels(base: raw.baseAddress!, width: width, height: height, rowBytes: width * 3)
            writer.letterbox(pixels, geometry: g, into: &out)
        }
        var s = 0
        var ws = 0
        out.withUnsafeBytes { values in
            for (i, v) in values.enumerated() {
                s += Int(v)
                ws += Int(v) * (i % 251 + 1)
            }
        }
        #expect(s == sum)
        #expect(ws == weighted)
    }

    @Test func resizeModesFollowOpenCV() {
        func mode(_ w: Int, _ h: Int) -> Int32 {
            LetterboxGeometry(sourceWidth: w, sourceHeight: h, targetWidth: 640, targetHeight: 640).kernelResizeMode
        }
        #expect(mode(640, 480) == 2)
        #expect(mode(1280, 1280) == 1)
        #expect(mode(1280, 1001) == 0)
    }

    @Test func nv12ConversionMatchesOpenCV() {
        // cv2.cvtColor(COLOR_YUV2BGR_NV12) values for a few (Y, U, V).
        #expect(PixelFormatReference.nv12ToBGR(y: 16, u: 128, v: 128) == (0, 0, 0))
        #expect(PixelFormatReference.nv12ToBGR(y: 235, u: 128, v: 128) == (255, 255, 255))
        #expect(PixelFormatReference.nv12ToBGR(y: 81, u: 90, v: 240) == (0, 0, 254))
    }
}

@Suite struct LetterboxKernelSourceTests {
    @Test func everyVariantHasAnEntryPoint() {
        let source = LetterboxKernelSource.source
        for format in PixelFormat.allCases {
            for element in TensorElement.allCases {
                for layout in TensorMemoryLayout.allCases {
                    let name = LetterboxKernelSource.entryPoint(format: format, element: element, layout: layout)
                    #expect(source.contains("void __launch_bounds__(256) \(name)("))
                }
            }
        }
        #expect(
            LetterboxKernelSource.entryPoint(format: .nv12, element: .float16, layout: .nhwc)
                == "lookout_letterbox_nv12_f16_nhwc")
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
        let p = GPULetterbox.parameters(
            frame: frame, slot: slot,
            geometry: LetterboxGeometry(sourceWidth: 1920, sourceHeight: 1080, targetWidth: 640, targetHeight: 640))
        #expect((p.channel0, p.channel1, p.channel2) == (2, 1, 0))
        #expect(p.sourcePitch == 5760 && p.resizedHeight == 360 && p.padTop == 140 && p.batchIndex == 3)
        let rgb = GPULetterbox.parameters(
            frame: DeviceFrame(pointer: frame.pointer, format: .rgb, width: 8, height: 8), slot: slot,
            geometry: LetterboxGeometry(sourceWidth: 8, sourceHeight: 8, targetWidth: 640, targetHeight: 640))
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
            source: LetterboxKernelSource.source, name: "letterbox.cu", options: [target.option, "--std=c++17"],
            kind: target.kind)
        #expect(output.image.count > 1000)
    }

    @Test(.enabled(if: LetterboxKernelSourceTests.nvrtc != nil, "NVRTC is not installed"))
    func compileErrorsCarryTheLog() throws {
        let nvrtc = try #require(Self.nvrtc)
        do {
            _ = try nvrtc.compile(
                source: "__global__ void k() { undefined_thing(); }", name: "bad.cu", options: [], kind: .ptx)
            Issue.record("bad source compiled")
        } catch {
            #expect(error.log.contains("undefined_thing"))
        }
    }
}
