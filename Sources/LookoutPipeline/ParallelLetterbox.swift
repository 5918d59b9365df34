import CLookoutHostMemory
import LookoutMedia
import LookoutYOLO

/// LookoutYOLO's letterbox (`LetterboxTensorWriter`, bit-exact with OpenCV and Ultralytics) into a float32 NCHW RGB
/// tensor, its output rows split over a `RowParallel` team: each worker has its own writer (its own resize tables
/// and row cache), so after the first frame nothing is allocated.
public final class ParallelLetterbox: RowJob, @unchecked Sendable {
    /// How the tensor's lines reach memory. A buffer that the copy engine reads next copies at the link's rate only
    /// when none of its lines is dirty in a CPU cache (the DMA read would snoop it out): `streamed` never puts
    /// them there, `writtenBack` evicts them after writing.
    public enum Writes: String, Sendable, CaseIterable {
        /// Ordinary stores; the lines stay in the caches.
        case cached
        /// Ordinary stores, then each band's lines written back and evicted (CLFLUSHOPT).
        case writtenBack = "written-back"
        /// Each band assembled in a small per-worker buffer, then stored with non-temporal stores.
        case streamed
    }

    public let geometry: LetterboxGeometry
    let workers: RowParallel
    // One writer per worker, in raw storage: workers mutate their own element concurrently, which an Array
    // property would flag as overlapping accesses.
    private let writers: UnsafeMutablePointer<LetterboxTensorWriter>
    /// Per worker, a band of `bandRows` rows of the three planes (the `streamed` writes' staging, cache-resident).
    private let bands: UnsafeMutablePointer<Float>
    let bandRows: Int
    /// The frame being letterboxed, for the workers (set only around `workers.run`).
    private var current: (pixels: BGRPixels, output: UnsafeMutablePointer<Float>)?
    public var writes = Writes.cached

    /// Ultralytics' predict letterbox (centred, scale-up) of `sourceWidth` × `sourceHeight` frames.
    public init(sourceWidth: Int, sourceHeight: Int, outputWidth: Int = 640, outputHeight: Int = 640, workers: RowParallel) {
        geometry = LetterboxGeometry(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, targetWidth: outputWidth, targetHeight: outputHeight)
        self.workers = workers
        writers = .allocate(capacity: workers.threadCount)
        writers.initialize(repeating: LetterboxTensorWriter(), count: workers.threadCount)
        // About 64 KiB a worker: the band stays in the core's L2 between being written and streamed out.
        bandRows = max(1, min(outputHeight, (64 << 10) / (outputWidth * 3 * MemoryLayout<Float>.stride)))
        let bandFloats = bandRows * outputWidth * 3
        bands = UnsafeMutableRawPointer.allocate(
            byteCount: bandFloats * workers.threadCount * MemoryLayout<Float>.stride, alignment: 64
        ).bindMemory(to: Float.self, capacity: bandFloats * workers.threadCount)
    }

    deinit {
        writers.deinitialize(count: workers.threadCount)
        writers.deallocate()
        bands.deallocate()
    }

    /// Letterboxes `source` into `output` (3 × H × W floats).
    public func run(source: BGRPixels, into output: UnsafeMutablePointer<Float>) {
        precondition(source.width == geometry.sourceWidth && source.height == geometry.sourceHeight, "frame size changed")
        current = (source, output)
        workers.run(count: geometry.outputHeight, self)
        current = nil
    }

    /// The same from raw bytes: a packed BGR frame (rows of `sourceWidth * 3` bytes) into a float32 tensor.
    public func run(frame: UnsafeRawBufferPointer, into tensor: UnsafeMutableRawBufferPointer) {
        precondition(frame.count >= geometry.sourceWidth * geometry.sourceHeight * 3, "frame buffer too small")
        precondition(tensor.count >= geometry.outputWidth * geometry.outputHeight * 3 * 4, "tensor buffer too small")
        let pixels = BGRPixels(
            base: frame.baseAddress!.assumingMemoryBound(to: UInt8.self), width: geometry.sourceWidth,
            height: geometry.sourceHeight, rowBytes: geometry.sourceWidth * 3)
        run(source: pixels, into: tensor.baseAddress!.assumingMemoryBound(to: Float.self))
    }

    public func rows(worker: Int, range: Range<Int>) {
        guard let current else { return }
        let width = geometry.outputWidth
        let plane = width * geometry.outputHeight
        switch writes {
        case .cached, .writtenBack:
            writers[worker].write(current.pixels, geometry: geometry, into: current.output, slot: 0, rows: range)
            guard writes == .writtenBack else { return }
            for c in 0..<3 {
                lookout_flush_cache_lines(current.output + c * plane + range.lowerBound * width, range.count * width * 4)
            }
        case .streamed:
            let band = bands + worker * bandRows * width * 3
            var start = range.lowerBound
            while start < range.upperBound {
                let rows = start..<min(start + bandRows, range.upperBound)
                writers[worker].write(
                    current.pixels, geometry: geometry, intoBand: band, planeStride: rows.count * width, rows: rows)
                for c in 0..<3 {
                    lookout_stream_store(
                        current.output + c * plane + rows.lowerBound * width, band + c * rows.count * width,
                        rows.count * width * MemoryLayout<Float>.stride)
                }
                start = rows.upperBound
            }
            // The band's stores are visible before this worker reports its rows done.
            lookout_store_fence()
        }
    }
}
