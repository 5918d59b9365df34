/// The CUDA C++ of GPU postprocessing: Ultralytics' `non_max_suppression` (utils/nms.py) with torchvision's NMS
/// rule, one thread block per image, bit for bit as `LookoutYOLO.NonMaxSuppression` computes it on the CPU.
///
/// 1. Candidates: best class score `> Float(conf)` per anchor (first index on ties), or every (anchor, class) above
///    it with multi-label; the class filter applies to the best class. Each is a 64-bit key: the complement of the
///    score's bits (descending score) over `anchor * classes + class` (the CPU's candidate order), so one
///    ascending sort gives torch's stable descending order.
/// 2. Bitonic sort of the keys (shared memory when they fit, else global scratch).
/// 3. The first `max_nms` survive; boxes are converted (`xy ± wh / 2`) and shifted by `class * max_wh` in float32.
/// 4. Greedy suppression: float32 IoU `inter / ((area_i + area_j) - inter)`, suppress when its double is above the
///    threshold, stop at `max_det` kept.
/// 5. Kept boxes, unshifted, optionally scaled to the original image (`(x - pad) / gain`, clipped), are written.
/// More candidates than the scratch holds marks the image (count -1) for the host to redo on the CPU.
package enum NMSKernelSource {
    static let fields: [(String, String)] = [
        ("unsigned long long", "output"), ("unsigned long long", "keys"), ("unsigned long long", "boxes"),
        ("unsigned long long", "suppressed"), ("unsigned long long", "classMask"), ("unsigned long long", "scaling"),
        ("unsigned long long", "results"),
        ("long long", "osN"), ("long long", "osC"), ("long long", "osA"),
        ("double", "iouThreshold"), ("float", "confidence"), ("float", "classOffset"),
        ("int", "batch"), ("int", "classes"), ("int", "anchors"), ("int", "multiLabel"),
        ("int", "maxDetections"), ("int", "maxCandidates"), ("int", "capacity"), ("int", "reserved"),
    ]

    package static let threads = 512
    /// `max_det` at most (kept indices live in shared memory).
    package static let maxDetectionsLimit = 1024
    /// Keys sorted in shared memory at most (32 KiB); more go through global scratch.
    package static let sharedKeys = 4096

    /// The constants above as the macros Kernels/nms.cu sizes its launch bounds and shared arrays with.
    static var prelude: String {
        "#define LOOKOUT_NMS_THREADS \(threads)\n" + "#define LOOKOUT_NMS_SHARED_KEYS \(sharedKeys)\n"
            + "#define LOOKOUT_NMS_MAX_DETECTIONS \(maxDetectionsLimit)\n"
    }

    package static var source: String {
        EngineKernelSource.declaration("LookoutNMSParams", fields) + prelude + KernelFiles.text(PackageResources.nms_cu)
    }
}
