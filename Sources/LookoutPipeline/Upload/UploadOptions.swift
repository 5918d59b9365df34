import LookoutCUDA
import LookoutYOLO

/// Choices inside the transfer modes: the `pinned` variants that `lookout bench transfer` compares. The defaults
/// are the measured best (docs/cuda.md, "How the pinned mode reaches 96%").
public struct UploadOptions: Sendable, Hashable {
    /// `pinned`: each frame's copy is queued before the letterbox, behind a wait on a word of host memory that the
    /// CPU sets when the frame's tensor is written, so no driver call lies between "written" and "copying"; false
    /// submits each copy after its letterbox. Where stream memory operations are unavailable the copies are
    /// submitted after the letterbox either way (the uploader's `notes` say so).
    public var queuedCopies = true
    /// `pinned`: how the letterbox writes the pinned staging. The copy engine reads it at the link's rate only if
    /// no line of it is dirty in a CPU cache: `streamed` (non-temporal stores) or `writtenBack`.
    public var pinnedWrites = LetterboxWrites.streamed
    /// `pinned`: the staging memory.
    public var pinnedStaging = PinnedStaging.writeCombined
    /// `pageable`, `pinned`: threads of the CPU letterbox, the caller's included; nil: the available cores.
    public var letterboxThreads: Int?

    public init() {}
}

/// Page-locked host memory for the `pinned` mode's staging tensors.
public enum PinnedStaging: String, Sendable, CaseIterable {
    /// `cuMemHostAlloc`, cached.
    case cached
    /// `cuMemHostAlloc` write-combined (the CPU only writes it, the copy engine reads).
    case writeCombined = "write-combined"
    /// Transparent 2 MiB pages registered with `cuMemHostRegister` (fewer pages for the copy engine to translate).
    case hugePages = "huge-pages"

    package func allocate(byteCount: Int, context: CUDAContext) throws(CUDAError) -> HostBuffer {
        switch self {
        case .cached: try HostBuffer.pinned(byteCount: byteCount, context: context)
        case .writeCombined: try HostBuffer.pinned(byteCount: byteCount, context: context, writeCombined: true)
        case .hugePages: try HostBuffer.registered(byteCount: byteCount, context: context, hugePages: true)
        }
    }
}
