import CLookoutHostMemory
import Dispatch
import LookoutYOLO

/// The CPU letterbox of the `pageable` and `pinned` modes: every frame of a batch into its slot of an fp32 NCHW
/// tensor, frames spread over the cores (`concurrentPerform`), one writer per batch slot so that after the first
/// batch of a size nothing is allocated.
final class CPUBatchLetterbox: @unchecked Sendable {
    // Writer `i` is only touched by the iteration that fills slot `i`.
    private let writers: UnsafeMutablePointer<LetterboxTensorWriter>
    let capacity: Int

    init(maxBatch: Int) {
        capacity = maxBatch
        writers = .allocate(capacity: maxBatch)
        writers.initialize(repeating: LetterboxTensorWriter(), count: maxBatch)
    }

    deinit {
        writers.deinitialize(count: capacity)
        writers.deallocate()
    }

    /// Letterboxes `frames[i]` into slot `i` of `tensor`. With `writeBack`, each slot's cache lines are written back
    /// to memory afterwards: the copy engine then reads them at full speed instead of snooping the CPU caches
    /// (docs/cuda.md, "Why the pinned mode's copies were slow").
    func run(
        _ frames: [PooledFrame], geometries: [LetterboxGeometry], into tensor: UnsafeMutablePointer<Float>,
        writeBack: Bool
    ) {
        precondition(frames.count <= capacity)
        let plane = 3 * geometries[0].outputWidth * geometries[0].outputHeight
        // Each iteration writes its own slot: the address can travel to the workers.
        nonisolated(unsafe) let tensor = tensor
        DispatchQueue.concurrentPerform(iterations: frames.count) { i in
            frames[i].withPixels { pixels in
                writers[i].write(pixels, geometry: geometries[i], into: tensor, slot: i)
            }
            if writeBack { lookout_flush_cache_lines(tensor + i * plane, plane * 4) }
        }
    }
}
