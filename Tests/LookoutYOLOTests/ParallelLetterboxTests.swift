import CLookoutAllocCounter
import CLookoutHostMemory
import LookoutCore
import LookoutMedia
import Testing

@testable import LookoutYOLO

@Suite struct ParallelLetterboxTests {
    /// A packed BGR frame with gradients and hashed noise.
    static func frame(width: Int, height: Int, seed: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let noise = ((x &* 7919) ^ (y &* 104_729) ^ (seed &* 15_485_863)) & 63
                    bytes[(y * width + x) * 3 + c] = UInt8(truncatingIfNeeded: x + 2 * y + 64 * c + 37 * seed + noise)
                }
            }
        }
        return bytes
    }

    static func letterbox(
        _ bytes: [UInt8], width: Int, height: Int, outputWidth: Int, outputHeight: Int, threads: Int,
        writes: LetterboxWrites, offset: Int = 0
    ) -> (parallel: [Float], reference: [Float]) {
        let geometry = LetterboxGeometry(
            sourceWidth: width, sourceHeight: height, targetWidth: outputWidth, targetHeight: outputHeight)
        let cpu = ParallelLetterbox(threads: threads, writes: writes)
        var out = [Float](repeating: -1, count: outputWidth * outputHeight * 3 + offset)
        var reference = [Float](repeating: -2, count: outputWidth * outputHeight * 3)
        bytes.withUnsafeBufferPointer { src in
            let pixels = BGRPixels(base: src.baseAddress!, width: width, height: height, rowBytes: width * 3)
            out.withUnsafeMutableBufferPointer { cpu.run(pixels, geometry: geometry, into: $0.baseAddress! + offset) }
            var writer = LetterboxTensorWriter()
            reference.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: geometry, into: $0.baseAddress!) }
        }
        return (out, reference)
    }

    @Test(
        arguments: [(1920, 1080), (13, 7), (1, 3000), (1280, 1280), (640, 480), (1280, 1001)],
        LetterboxWrites.allCases)
    func equalsTheSingleThreadedWriter(size: (width: Int, height: Int), writes: LetterboxWrites) {
        let bytes = Self.frame(width: size.width, height: size.height, seed: 2)
        let result = Self.letterbox(
            bytes, width: size.width, height: size.height, outputWidth: 640, outputHeight: 640, threads: 3,
            writes: writes)
        #expect(result.parallel == result.reference)
    }

    @Test func streamedBandsCoverOddWidthsAndBandEdges() {
        // 644 columns: rows are not a whole number of cache lines, so each plane's rows start unaligned and the
        // non-temporal copy has a head and a tail; 23 rows a worker do not divide into the band height.
        let cpu = ParallelLetterbox(threads: 3, writes: .streamed)
        #expect(cpu.bandRows(width: 644) > 1 && 23 % cpu.bandRows(width: 644) != 0)
        let bytes = Self.frame(width: 1000, height: 700, seed: 5)
        // One float of offset: the destination is 4-byte but not 16-byte aligned.
        let result = Self.letterbox(
            bytes, width: 1000, height: 700, outputWidth: 644, outputHeight: 69, threads: 3, writes: .streamed,
            offset: 1)
        #expect(result.parallel[0] == -1)
        #expect(Array(result.parallel[1...]) == result.reference)
    }

    @Test func aBatchFillsEachSlotWithItsOwnFrame() {
        let cpu = ParallelLetterbox(threads: 2)
        let geometry = LetterboxGeometry(sourceWidth: 64, sourceHeight: 48, targetWidth: 64, targetHeight: 64)
        var tensor = [Float](repeating: -1, count: 2 * 3 * 64 * 64)
        var writer = LetterboxTensorWriter()
        var reference = [Float](repeating: -2, count: 2 * 3 * 64 * 64)
        for slot in 0..<2 {
            let bytes = Self.frame(width: 64, height: 48, seed: slot)
            bytes.withUnsafeBufferPointer { src in
                let pixels = BGRPixels(base: src.baseAddress!, width: 64, height: 48, rowBytes: 192)
                tensor.withUnsafeMutableBufferPointer {
                    cpu.run(pixels, geometry: geometry, into: $0.baseAddress!, slot: slot)
                }
                reference.withUnsafeMutableBufferPointer {
                    writer.write(pixels, geometry: geometry, into: $0.baseAddress!, slot: slot)
                }
            }
        }
        #expect(tensor == reference)
    }

    @Test func streamStoreCopiesEveryLengthAndAlignment() {
        let source = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        for offset in 0..<17 {
            for count in [0, 1, 15, 16, 17, 63, 64, 65, 130, 250] {
                var destination = [UInt8](repeating: 0xEE, count: 300)
                destination.withUnsafeMutableBytes { d in
                    source.withUnsafeBytes { lookout_stream_store(d.baseAddress! + offset, $0.baseAddress!, count) }
                }
                lookout_store_fence()
                #expect(
                    Array(destination[offset..<(offset + count)]) == Array(source[0..<count]),
                    "offset \(offset) count \(count)")
                #expect(
                    destination[..<offset].allSatisfy { $0 == 0xEE }
                        && destination[(offset + count)...].allSatisfy { $0 == 0xEE })
            }
        }
        #if arch(x86_64)
            #expect(lookout_stream_store_available() == 1)
        #endif
    }

    // Unspecialised generics in the writer allocate in debug builds; release builds allocate nothing (checked with
    // `swift test -c release`, and by the transfer benchmark's own count on the GPU machine).
    #if DEBUG
        static let threadCounts: [Int] = []
    #else
        static let threadCounts = [1, 2]
    #endif

    @Test(.enabled(if: !threadCounts.isEmpty, "release builds only"), arguments: threadCounts, LetterboxWrites.allCases)
    func steadyStateAllocatesNothing(threads: Int, writes: LetterboxWrites) throws {
        try #require(lookout_alloc_counter_active() != 0)
        let bytes = Self.frame(width: 1920, height: 1080, seed: 1)
        var output = [Float](repeating: 0, count: 640 * 640 * 3)
        let cpu = ParallelLetterbox(threads: threads, writes: writes)
        let geometry = LetterboxGeometry(sourceWidth: 1920, sourceHeight: 1080, targetWidth: 640, targetHeight: 640)
        func once() {
            bytes.withUnsafeBufferPointer { src in
                let pixels = BGRPixels(base: src.baseAddress!, width: 1920, height: 1080, rowBytes: 1920 * 3)
                output.withUnsafeMutableBufferPointer { cpu.run(pixels, geometry: geometry, into: $0.baseAddress!) }
            }
        }
        once()
        // Process-wide: the pool's workers allocate on their own threads (this test runs alone in scripts/test).
        var fewest = UInt64.max
        for _ in 0..<8 {
            let before = lookout_alloc_count()
            for _ in 0..<5 { once() }
            fewest = min(fewest, lookout_alloc_count() - before)
        }
        #expect(fewest == 0)
    }
}
