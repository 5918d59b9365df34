import CLookoutCUDA
import LookoutCore
import Synchronization

/// NVIDIA's hardware video decoder (NVDEC), loaded at run time from `libnvcuvid.so.1`, which the driver installs
/// beside `libcuda`. Missing, video is decoded on the CPU.
package final class NVDEC: Sendable {
    /// The variable that names where libnvcuvid is (a folder, a file, or a colon-separated list); the generic
    /// `LOOKOUT_CUDA_PATH` is searched too.
    package static let pathVariable = "LOOKOUT_NVCUVID_PATH"

    package let path: String
    let library: DynamicLibrary
    let api: NVDECAPI

    init(library: DynamicLibrary, path: String, api: NVDECAPI) {
        self.library = library
        self.path = path
        self.api = api
    }

    /// Where libnvcuvid is looked for: the override variables, the system linker path, the driver's folders.
    package static func search(environment: [String: String] = SystemInfo.environmentVariables) -> LibrarySearch {
        LibrarySearch.toolkitLibrary(
            "NVDEC (libnvcuvid)", names: ["libnvcuvid.so.1", "libnvcuvid.so"], variable: pathVariable,
            environment: environment)
    }

    private static let cached = Mutex<Result<NVDEC, NVDECUnavailable>?>(nil)

    /// Loads libnvcuvid once per process; later calls return the same result.
    package static func load() -> Result<NVDEC, NVDECUnavailable> {
        cached.withLock { state in
            if let state { return state }
            let result = load(search: search())
            state = result
            return result
        }
    }

    /// Loads libnvcuvid from an explicit search (no caching): for tests.
    package static func load(search: LibrarySearch) -> Result<NVDEC, NVDECUnavailable> {
        switch search.load() {
        case .failure(let notFound): return .failure(NVDECUnavailable(reason: .libraryNotFound(notFound)))
        case .success(let library):
            switch NVDECAPI.load(from: library) {
            case .failure(let missing): return .failure(NVDECUnavailable(reason: .symbolsMissing(missing)))
            case .success(let api): return .success(NVDEC(library: library, path: library.resolvedPath(), api: api))
            }
        }
    }

    /// What the GPU of `context` decodes for `codec` in `chroma` at `bitDepth` bits (`cuvidGetDecoderCaps`).
    package func capabilities(
        codec: NVDECCodec, chroma: NVDECChroma, bitDepth: Int, context: CUDAContext
    ) throws(CUDAError) -> NVDECCapabilities {
        try context.bind()
        var caps = LookoutCUVIDDecodeCaps()
        caps.codecType = codec.rawValue
        caps.chromaFormat = chroma.rawValue
        caps.bitDepthMinus8 = UInt32(max(0, bitDepth - 8))
        try context.api.check(api.cuvidGetDecoderCaps(&caps), "cuvidGetDecoderCaps")
        return NVDECCapabilities(
            codec: codec, chroma: chroma, bitDepth: bitDepth, isSupported: caps.isSupported != 0,
            engines: Int(caps.numNVDECs), minWidth: Int(caps.minWidth), minHeight: Int(caps.minHeight),
            maxWidth: Int(caps.maxWidth), maxHeight: Int(caps.maxHeight), maxMacroblocks: Int(caps.maxMBCount),
            outputsNV12: caps.outputFormatMask & 1 != 0, gpu: context.device.name)
    }
}

/// The codecs NVDEC knows (`cudaVideoCodec`).
package enum NVDECCodec: Int32, Sendable, CustomStringConvertible {
    case mpeg1 = 0
    case mpeg2 = 1
    case mpeg4 = 2
    case vc1 = 3
    case h264 = 4
    case jpeg = 5
    case hevc = 8
    case vp8 = 9
    case vp9 = 10
    case av1 = 11

    package var description: String {
        switch self {
        case .mpeg1: return "MPEG-1"
        case .mpeg2: return "MPEG-2"
        case .mpeg4: return "MPEG-4 Part 2"
        case .vc1: return "VC-1"
        case .h264: return "H.264"
        case .jpeg: return "JPEG"
        case .hevc: return "HEVC"
        case .vp8: return "VP8"
        case .vp9: return "VP9"
        case .av1: return "AV1"
        }
    }
}

/// Chroma subsampling (`cudaVideoChromaFormat`).
package enum NVDECChroma: Int32, Sendable, CustomStringConvertible {
    case monochrome = 0
    case yuv420 = 1
    case yuv422 = 2
    case yuv444 = 3

    package var description: String {
        switch self {
        case .monochrome: return "monochrome"
        case .yuv420: return "4:2:0"
        case .yuv422: return "4:2:2"
        case .yuv444: return "4:4:4"
        }
    }
}

/// What one GPU's NVDEC engines decode for one codec, chroma format and bit depth.
package struct NVDECCapabilities: Sendable {
    package let codec: NVDECCodec
    package let chroma: NVDECChroma
    package let bitDepth: Int
    package let isSupported: Bool
    /// NVDEC engines that decode it.
    package let engines: Int
    package let minWidth: Int
    package let minHeight: Int
    package let maxWidth: Int
    package let maxHeight: Int
    /// Largest coded width × height / 256.
    package let maxMacroblocks: Int
    package let outputsNV12: Bool
    package let gpu: String

    /// Why a `width` × `height` coded picture cannot be decoded here (one line), or nil when it can.
    package func refusal(width: Int, height: Int) -> String? {
        let what = "\(codec) \(chroma) \(bitDepth)-bit"
        guard isSupported else { return "NVDEC of the \(gpu) does not decode \(what)" }
        if width < minWidth || height < minHeight || width > maxWidth || height > maxHeight
            || (width * height) / 256 > maxMacroblocks
        {
            return
                "NVDEC of the \(gpu) decodes \(what) from \(minWidth)×\(minHeight) to \(maxWidth)×\(maxHeight) (\(maxMacroblocks) macroblocks), not \(width)×\(height)"
        }
        return nil
    }
}

/// NVDEC cannot be used; the description is one line saying what was tried.
package struct NVDECUnavailable: Error, CustomStringConvertible, Sendable {
    package enum Reason: Sendable {
        case libraryNotFound(LibraryNotFound)
        case symbolsMissing(DriverSymbolsMissing)
    }
    package let reason: Reason

    package var description: String {
        switch reason {
        case .libraryNotFound(let notFound): return notFound.description
        case .symbolsMissing(let missing):
            return
                "\(missing.library) lacks \(missing.symbols.joined(separator: ", ")): Lookout needs the NVDEC API of Video Codec SDK 12 (driver 520 or newer)"
        }
    }
}
