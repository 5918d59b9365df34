import CLookoutHostMemory
import LookoutMedia
import LookoutYOLO

/// LookoutYOLO's letterbox (`LetterboxTensorWriter`, bit-exact with OpenCV and Ultralytics) into a float32 NCHW RGB
/// tensor, its output rows split over a `RowParallel` team: each worker has its own writer (its own resize tables
/// and row cache), so after the first frame nothing is allocated.
public final class ParallelLetterbox: RowJob, @unchecked Sendable {
    public let geometry: LetterboxGeometry
    let workers: RowParallel
    // One writer per worker, in raw storage: workers mutate their own element concurrently, which an Array
    // property would flag as overlapping accesses.
    private let writers: UnsafeMutablePointer<LetterboxTensorWriter>
    /// The frame being letterboxed, for the workers (set only around `workers.run`).
    private var current: (pixels: BGRPixels, output: UnsafeMutablePointer<Float>)?
    /// Write back and evict each band's cache lines after writing it (for buffers a DMA reads next).
    public var flushAfterWriting = false

    /// Ultralytics' predict letterbox (centred, scale-up) of `sourceWidth` × `sourceHeight` frames.
    public init(sourceWidth: Int, sourceHeight: Int, outputWidth: Int = 640, outputHeight: Int = 640, workers: RowParallel) {
        geometry = LetterboxGeometry(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, targetWidth: outputWidth, targetHeight: outputHeight)
        self.workers = workers
        writers = .allocate(capacity: workers.threadCount)
        writers.initialize(repeating: LetterboxTensorWriter(), count: workers.threadCount)
    }

    deinit {
        writers.deinitialize(count: workers.threadCount)
        writers.deallocate()
    }

    /// Letterboxes `source` into `output` (3 × H × W floats).
    public func run(source: BGRPixels, into output: UnsafeMutablePointer<Float>) {
        precondition(source.width == geometry.sourceWidth && source.height == geometry.sourceHeight, "frame size changed")
        current = (source, output)
        workers.run(count: geometry.outputHeight, self)
        current = nil
    }

    public func rows(worker: Int, range: Range<Int>) {
        guard let current else { return }
        writers[worker].write(current.pixels, geometry: geometry, into: current.output, slot: 0, rows: range)
        if flushAfterWriting {
            let width = geometry.outputWidth
            let plane = width * geometry.outputHeight
            for c in 0..<3 {
                lookout_flush_cache_lines(current.output + c * plane + range.lowerBound * width, range.count * width * 4)
            }
        }
    }
}
