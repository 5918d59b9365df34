import CLookoutHostMemory
import LookoutCore
import LookoutMedia

/// How a CPU letterbox's tensor lines reach memory. A buffer that the copy engine reads next copies at the link's rate only
/// when none of its lines is dirty in a CPU cache (the DMA read would snoop it out): `streamed` never puts
/// them there, `writtenBack` evicts them after writing.
public enum LetterboxWrites: String, Sendable, CaseIterable {
    /// Ordinary stores; the lines stay in the caches (a tensor the CPU itself reads next).
    case cached
    /// Ordinary stores, then each band's lines written back and evicted (CLFLUSHOPT).
    case writtenBack = "written-back"
    /// Each band assembled in a small per-worker buffer, then stored with non-temporal stores.
    case streamed
}

/// The CPU letterbox of every path that letterboxes on the CPU (`Detector`, batched detection, the `pageable` and
/// `pinned` transfer modes): LookoutYOLO's `LetterboxTensorWriter` (bit-exact with OpenCV and Ultralytics) into
/// slots of a float32 NCHW RGB tensor, each frame's output rows split in bands over a `WorkerPool`. Each worker has
/// its own writer (its own resize tables and row cache), so after the first frame of a size nothing is allocated.
///
/// One caller at a time (the workers' writers and bands are this letterbox's).
package final class ParallelLetterbox: @unchecked Sendable {
    // `writers` and `bands` are touched by worker `w` only while a `run` is in progress, each worker its own.
    package let pool: WorkerPool
    package var writes: LetterboxWrites
    // One writer per worker, in raw storage: workers mutate their own element concurrently, which an Array
    // property would flag as overlapping accesses.
    private let writers: UnsafeMutablePointer<LetterboxTensorWriter>
    private let workerCount: Int
    /// Per worker, a band of rows of the three planes (the `streamed` writes' staging, cache-resident).
    private let bands: UnsafeMutablePointer<Float>
    private let bandFloats: Int

    /// A letterbox on `pool`'s workers (the caller is worker 0).
    package init(pool: WorkerPool, writes: LetterboxWrites = .cached) {
        self.pool = pool
        self.writes = writes
        workerCount = pool.threadCount
        writers = .allocate(capacity: workerCount)
        writers.initialize(repeating: LetterboxTensorWriter(), count: workerCount)
        // 64 KiB a worker: the band stays in the core's L2 between being written and streamed out.
        bandFloats = (64 << 10) / MemoryLayout<Float>.stride
        bands = UnsafeMutableRawPointer.allocate(
            byteCount: bandFloats * workerCount * MemoryLayout<Float>.stride, alignment: 64
        ).bindMemory(to: Float.self, capacity: bandFloats * workerCount)
    }

    /// A letterbox with a pool of its own of `threads` workers.
    package convenience init(threads: Int, writes: LetterboxWrites = .cached) {
        self.init(pool: WorkerPool(threads: threads), writes: writes)
    }

    deinit {
        writers.deinitialize(count: workerCount)
        writers.deallocate()
        bands.deallocate()
    }

    /// Rows of one `streamed` band for an output `width` wide.
    package func bandRows(width: Int) -> Int { max(1, bandFloats / (width * 3)) }

    /// Letterboxes `source` into batch slot `slot` of `tensor` (slots of 3 × H × W floats, `geometry`'s output).
    package func run(
        _ source: BGRPixels, geometry: LetterboxGeometry, into tensor: UnsafeMutablePointer<Float>, slot: Int = 0
    ) {
        precondition(
            source.width == geometry.sourceWidth && source.height == geometry.sourceHeight,
            "the frame is \(source.width)x\(source.height), the geometry is for \(geometry.sourceWidth)x\(geometry.sourceHeight)"
        )
        let width = geometry.outputWidth
        let plane = width * geometry.outputHeight
        let output = tensor + slot * 3 * plane
        let writes = self.writes
        let writers = self.writers
        let bands = self.bands
        let bandRows = bandRows(width: width)
        let bandFloats = self.bandFloats
        pool.forEachBand(geometry.outputHeight) { worker, range in
            switch writes {
            case .cached, .writtenBack:
                writers[worker].write(source, geometry: geometry, into: output, slot: 0, rows: range)
                guard writes == .writtenBack else { return }
                for c in 0..<3 {
                    lookout_flush_cache_lines(output + c * plane + range.lowerBound * width, range.count * width * 4)
                }
            case .streamed:
                let band = bands + worker * bandFloats
                var start = range.lowerBound
                while start < range.upperBound {
                    let rows = start..<min(start + bandRows, range.upperBound)
                    writers[worker].write(
                        source, geometry: geometry, intoBand: band, planeStride: rows.count * width, rows: rows)
                    for c in 0..<3 {
                        lookout_stream_store(
                            output + c * plane + rows.lowerBound * width, band + c * rows.count * width,
                            rows.count * width * MemoryLayout<Float>.stride)
                    }
                    start = rows.upperBound
                }
                // The band's stores are visible before this worker reports its rows done.
                lookout_store_fence()
            }
        }
    }
}
