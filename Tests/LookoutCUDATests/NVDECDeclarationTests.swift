import CLookoutCUDA
import Foundation
import Testing

@testable import LookoutCUDA

/// Lookout declares NVDEC's structures itself (no NVIDIA header at build time): their sizes and the offsets of the
/// fields it sets are those of Video Codec SDK 12's `cuviddec.h` / `nvcuvid.h` on 64-bit Linux, where a mistake
/// would corrupt the driver's reads rather than fail to compile.
@Suite struct NVDECDeclarationTests {
    @Test func structureSizesMatchTheSDK() {
        #expect(MemoryLayout<LookoutCUVIDDecodeCaps>.size == 88)
        #expect(MemoryLayout<LookoutCUVIDDecodeCreateInfo>.size == 176)
        #expect(MemoryLayout<LookoutCUVIDProcParams>.size == 264)
        // CUVIDGETDECODESTATUS: the status, 31 reserved words, 8 reserved pointers.
        #expect(MemoryLayout<LookoutCUVIDGetDecodeStatus>.size == 192)
        #expect(MemoryLayout<LookoutCUVIDEOFormat>.size == 64)
        #expect(MemoryLayout<LookoutCUVIDParserDispInfo>.size == 24)
        #expect(MemoryLayout<LookoutCUVIDSourceDataPacket>.size == 32)
        #expect(MemoryLayout<LookoutCUVIDParserParams>.size == 136)
    }

    @Test func fieldOffsetsMatchTheSDK() {
        typealias Create = LookoutCUVIDDecodeCreateInfo
        #expect(MemoryLayout<Create>.offset(of: \.codecType) == 24)
        #expect(MemoryLayout<Create>.offset(of: \.displayArea) == 80)
        #expect(MemoryLayout<Create>.offset(of: \.outputFormat) == 88)
        #expect(MemoryLayout<Create>.offset(of: \.targetWidth) == 96)
        #expect(MemoryLayout<Create>.offset(of: \.numOutputSurfaces) == 112)
        #expect(MemoryLayout<Create>.offset(of: \.vidLock) == 120)
        #expect(MemoryLayout<Create>.offset(of: \.targetRect) == 128)
        typealias Proc = LookoutCUVIDProcParams
        #expect(MemoryLayout<Proc>.offset(of: \.rawInputDevicePointer) == 24)
        #expect(MemoryLayout<Proc>.offset(of: \.outputStream) == 56)
        #expect(MemoryLayout<Proc>.offset(of: \.histogramDevicePointer) == 248)
        typealias Format = LookoutCUVIDEOFormat
        #expect(MemoryLayout<Format>.offset(of: \.minNumDecodeSurfaces) == 15)
        #expect(MemoryLayout<Format>.offset(of: \.codedWidth) == 16)
        #expect(MemoryLayout<Format>.offset(of: \.displayArea) == 24)
        #expect(MemoryLayout<Format>.offset(of: \.chromaFormat) == 40)
        typealias Parser = LookoutCUVIDParserParams
        #expect(MemoryLayout<Parser>.offset(of: \.userData) == 40)
        #expect(MemoryLayout<Parser>.offset(of: \.sequenceCallback) == 48)
        #expect(MemoryLayout<Parser>.offset(of: \.displayPicture) == 64)
        #expect(MemoryLayout<Parser>.offset(of: \.extVideoInfo) == 128)
        typealias Caps = LookoutCUVIDDecodeCaps
        #expect(MemoryLayout<Caps>.offset(of: \.isSupported) == 24)
        #expect(MemoryLayout<Caps>.offset(of: \.maxWidth) == 28)
        #expect(MemoryLayout<Caps>.offset(of: \.minWidth) == 40)
        #expect(MemoryLayout<LookoutCUVIDSourceDataPacket>.offset(of: \.timestamp) == 24)
        #expect(MemoryLayout<LookoutCUVIDParserDispInfo>.offset(of: \.timestamp) == 16)
    }

    @Test func missingLibraryIsOneLineNamingWhatWasSearched() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-nvdec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var search = NVDEC.search(environment: ["LOOKOUT_NVCUVID_PATH": folder.path])
        search.useSystemSearch = false
        search.folderPatterns = [folder.path]
        guard case .failure(let error) = NVDEC.load(search: search) else {
            Issue.record("libnvcuvid loaded from an empty folder")
            return
        }
        let text = error.description
        #expect(!text.contains("\n"))
        #expect(text.hasPrefix("NVDEC (libnvcuvid) not found: looked for libnvcuvid.so.1"))
        #expect(text.contains("LOOKOUT_NVCUVID_PATH"))
        #expect(text.contains(folder.path))
    }

    @Test func refusalsNameTheCodecTheLimitsAndTheGPU() {
        let caps = NVDECCapabilities(
            codec: .hevc, chroma: .yuv420, bitDepth: 10, isSupported: true, engines: 7, minWidth: 144, minHeight: 144,
            maxWidth: 8192, maxHeight: 8192, maxMacroblocks: 262_144, outputsNV12: true, gpu: "NVIDIA H100 80GB HBM3")
        #expect(caps.refusal(width: 1920, height: 1088) == nil)
        #expect(
            caps.refusal(width: 96, height: 96)
                == "NVDEC of the NVIDIA H100 80GB HBM3 decodes HEVC 4:2:0 10-bit from 144×144 to 8192×8192 (262144 macroblocks), not 96×96"
        )
        let none = NVDECCapabilities(
            codec: .vp8, chroma: .yuv444, bitDepth: 8, isSupported: false, engines: 0, minWidth: 0, minHeight: 0,
            maxWidth: 0, maxHeight: 0, maxMacroblocks: 0, outputsNV12: false, gpu: "NVIDIA H100 80GB HBM3")
        #expect(
            none.refusal(width: 640, height: 480)
                == "NVDEC of the NVIDIA H100 80GB HBM3 does not decode VP8 4:4:4 8-bit")
    }
}

@Suite struct NVDECDecodeStatusTests {
    @Test func corruptPicturesAreNamedAndOnlyUnconcealedOnesDropped() {
        #expect(NVDECDecoder.corruption(LookoutDecodeStatusSuccess) == nil)
        #expect(NVDECDecoder.corruption(1) == nil)  // in progress: not a verdict
        #expect(NVDECDecoder.corruption(LookoutDecodeStatusError)?.contains("dropped") == true)
        let concealed = NVDECDecoder.corruption(LookoutDecodeStatusErrorConcealed)
        #expect(concealed?.contains("concealed") == true && concealed?.contains("dropped") == false)
    }
}
