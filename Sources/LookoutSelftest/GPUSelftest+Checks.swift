import CLookoutHostMemory
import LookoutBench
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutPipeline
import LookoutTestSupport
import LookoutYOLO

#if canImport(Glibc)
    import Glibc
#endif

extension GPUSelftest {
    func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    /// Writes `pattern` into `source`, copies it to `device` and back into a zeroed `back` on `stream` (1D,
    /// asynchronous): whether the bytes came back.
    func roundTrip(
        _ pattern: [UInt8], from source: borrowing HostBuffer, through device: borrowing DeviceBuffer,
        into back: borrowing HostBuffer, on stream: CUDAStream
    ) throws -> Bool {
        source.withUnsafeMutableBytes { $0.copyBytes(from: pattern) }
        back.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        try stream.copy(source, to: device)
        try stream.copy(device, to: back)
        try stream.synchronize()
        return back.withUnsafeBytes { $0.elementsEqual(pattern) }
    }

    func copies(context: CUDAContext, stream: CUDAStream) {
        for kind in HostMemoryKind.allCases {
            check("copies round-trip byte-exact through \(kind) memory (1D async, 2D async, synchronous)") {
                let count = (3 << 20) + 77
                let pattern = randomBytes(count, seed: UInt64(count) + UInt64(kind.rawValue.count))
                let source = try HostBuffer(kind: kind, byteCount: count, context: context)
                let back = try HostBuffer(kind: kind, byteCount: count, context: context)
                let device = try DeviceBuffer(context: context, byteCount: count)
                if try !roundTrip(pattern, from: source, through: device, into: back, on: stream) {
                    return "1D round trip differs"
                }
                // 2D: 1000 rows of 1001 bytes, host pitch 1003, device pitch 1024.
                back.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
                try stream.copy2D(
                    source, sourcePitch: 1003, to: device, destinationPitch: 1024, widthBytes: 1001, height: 1000)
                try stream.copy2D(
                    device, sourcePitch: 1024, to: back, destinationPitch: 1003, widthBytes: 1001, height: 1000)
                try stream.synchronize()
                let rowsEqual = back.withUnsafeBytes { out in
                    (0..<1000).allSatisfy { row in
                        (0..<1001).allSatisfy { out[row * 1003 + $0] == pattern[row * 1003 + $0] }
                    }
                }
                if !rowsEqual { return "2D round trip differs" }
                back.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
                try context.copySynchronously(source, to: device)
                try context.copySynchronously(device, to: back)
                if !back.withUnsafeBytes({ $0.elementsEqual(pattern) }) { return "synchronous round trip differs" }
                if kind == .mapped || kind == .registered || kind == .managed, source.devicePointer == nil {
                    return "no device pointer"
                }
                return nil
            }
        }
        check("a copy queued behind a wait on a host word starts only once the host stores the word") {
            let count = 1 << 20
            let pattern = randomBytes(count, seed: 77)
            let word = try HostBuffer.mapped(byteCount: 4, context: context)
            word.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
            guard let flag = word.devicePointer else { return "no device pointer for the word" }
            let source = try HostBuffer.pinned(byteCount: count, context: context)
            let back = try HostBuffer.pinned(byteCount: count, context: context)
            let device = try DeviceBuffer(context: context, byteCount: count)
            back.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
            let done = try CUDAEvent(context: context)
            let pointer = word.withUnsafeMutableBytes { $0.baseAddress!.assumingMemoryBound(to: UInt32.self) }
            // Whatever happens, the wait is satisfied before the stream is used again.
            defer { lookout_publish_u32(pointer, 100) }
            try stream.wait(untilWordAt: flag, reaches: 1)
            try stream.copy(source, to: device)
            try stream.copy(device, to: back)
            try done.record(on: stream)
            // The source is written after the copy was queued, as the pinned mode does.
            source.withUnsafeMutableBytes { $0.copyBytes(from: pattern) }
            usleep(20_000)
            if try done.isComplete() { return "the copy ran before the word was stored" }
            lookout_publish_u32(pointer, 1)
            try done.synchronize()
            return back.withUnsafeBytes({ $0.elementsEqual(pattern) }) ? nil : "the copy moved other bytes"
        }
        for staging in PinnedStaging.allCases {
            check(
                "copies round-trip byte-exact through \(staging.rawValue) pinned staging (bench transfer's --staging)"
            ) {
                let count = (5 << 20) + 13
                let pattern = randomBytes(count, seed: UInt64(count) + UInt64(staging.rawValue.count))
                let source = try staging.allocate(byteCount: count, context: context)
                let back = try HostBuffer.pinned(byteCount: count, context: context)
                let device = try DeviceBuffer(context: context, byteCount: count)
                return try roundTrip(pattern, from: source, through: device, into: back, on: stream)
                    ? nil : "round trip differs"
            }
        }
    }

    /// A frame of `format`, GPU letterbox into a tensor, and the CPU reference for the same frame.
    func letterboxOnce(
        context: CUDAContext, stream: CUDAStream, letterbox: GPULetterbox, width: Int, height: Int, format: PixelFormat,
        element: TensorElement, layout: TensorMemoryLayout, pitchPadding: Int = 0, bgr: [UInt8]? = nil,
        batchIndex: Int = 1
    ) throws -> (gpu: [Float], cpu: [Float]) {
        let pitch = width * format.bytesPerPixel + pitchPadding
        let rows = format == .nv12 ? height + (height + 1) / 2 : height
        var frame = randomBytes(pitch * rows, seed: UInt64(width * 31 + height))
        if format == .nv12 {
            // NV12 needs an even height for its UV plane; the frame's byte pattern is arbitrary Y and UV.
        } else if let bgr {
            for y in 0..<height {
                for x in 0..<width {
                    for k in 0..<3 {
                        let value = bgr[(y * width + x) * 3 + k]
                        let index = y * pitch + x * format.bytesPerPixel
                        switch format {
                        case .rgb: frame[index + 2 - k] = value
                        default: frame[index + k] = value
                        }
                    }
                }
            }
        }
        let host = try HostBuffer.pinned(byteCount: frame.count, context: context)
        host.withUnsafeMutableBytes { $0.copyBytes(from: frame) }
        let deviceFrame = try DeviceBuffer(context: context, byteCount: frame.count)
        try stream.copy(host, to: deviceFrame)
        let slot = TensorSlot(
            tensor: DevicePointer(address: 0), batchIndex: batchIndex, element: element, layout: layout)
        let tensorBytes = slot.imageBytes * (batchIndex + 1)
        let tensor = try DeviceBuffer(context: context, byteCount: tensorBytes)
        try stream.fill(tensor, byte: 0xFF)  // poison: NaN everywhere until written
        var target = slot
        target.tensor = tensor.pointer()
        try letterbox.launch(
            frame: DeviceFrame(
                pointer: deviceFrame.pointer(), format: format, width: width, height: height, pitch: pitch),
            into: target, on: stream)
        let out = try HostBuffer.pinned(byteCount: slot.imageBytes, context: context)
        try stream.copy(tensor, sourceOffset: slot.imageBytes * batchIndex, to: out, byteCount: slot.imageBytes)
        try stream.synchronize()
        let gpu: [Float] = out.withUnsafeBytes { raw in
            element == .float32
                ? Array(raw.bindMemory(to: Float.self))
                : raw.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: $0)) }
        }
        // The CPU side: decode to BGR, then LookoutYOLO's letterbox (what detect and val use), then the layout.
        let decoded = PixelFormatReference.decodeToBGR(
            frame, format: format, width: width, height: height, pitch: pitch)
        let geometry = LetterboxGeometry(sourceWidth: width, sourceHeight: height, targetWidth: 640, targetHeight: 640)
        var cpu = [Float](repeating: .nan, count: 3 * 640 * 640)
        var writer = LetterboxTensorWriter()
        decoded.withUnsafeBufferPointer { raw in
            let pixels = BGRPixels(base: raw.baseAddress!, width: width, height: height, rowBytes: width * 3)
            cpu.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: geometry, into: $0.baseAddress!) }
        }
        if element == .float16 { cpu = cpu.map { Float(Float16($0)) } }
        if layout == .nhwc {
            let plane = 640 * 640
            var nhwc = [Float](repeating: 0, count: cpu.count)
            for i in 0..<plane { for c in 0..<3 { nhwc[i * 3 + c] = cpu[c * plane + i] } }
            cpu = nhwc
        }
        return (gpu, cpu)
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        var worst: Float = 0
        for i in a.indices {
            let d = abs(a[i] - b[i])
            if d.isNaN { return .nan }
            worst = max(worst, d)
        }
        return worst
    }

    func agreement(context: CUDAContext, stream: CUDAStream, letterbox: GPULetterbox) {
        let sizes = [
            (3000, 1), (1, 3000), (13, 7), (1280, 1001), (1001, 1280), (1280, 1280), (640, 480), (1920, 1080),
            (3840, 2160),
        ]
        for (width, height) in sizes {
            check("GPU letterbox equals the CPU letterbox, bgr f32 nchw, \(width)x\(height), pitch +5") {
                let r = try letterboxOnce(
                    context: context, stream: stream, letterbox: letterbox, width: width, height: height, format: .bgr,
                    element: .float32, layout: .nchw, pitchPadding: 5)
                // The CPU letterbox of the benchmark must agree too.
                let d = Self.maxDifference(r.gpu, r.cpu)
                return d == 0 ? nil : "max |difference| \(d) (\(d * 255)/255)"
            }
        }
        for format in PixelFormat.allCases {
            for element in TensorElement.allCases {
                for layout in TensorMemoryLayout.allCases {
                    // NV12 needs even sizes (its chroma is 2x2-subsampled); the packed formats get an odd width.
                    let (width, height) = format == .nv12 ? (1278, 722) : (1279, 722)
                    check("GPU letterbox agrees within 1/255, \(format) \(element) \(layout), \(width)x\(height)") {
                        let r = try letterboxOnce(
                            context: context, stream: stream, letterbox: letterbox, width: width, height: height,
                            format: format, element: element, layout: layout)
                        let d = Self.maxDifference(r.gpu, r.cpu)
                        return d <= 1.0 / 255 ? nil : "max |difference| \(d)"
                    }
                }
            }
        }
        guard let rawImages, let names = Paths.contents(ofDirectory: rawImages) else { return }
        var worst: Float = 0
        var count = 0
        check("GPU letterbox equals the CPU letterbox on the val images (\(rawImages))") {
            for name in names.sorted() where name.hasSuffix(".bgr") {
                let parts = name.split(separator: ".")
                guard parts.count >= 3 else { continue }
                let size = parts[parts.count - 2].split(separator: "x").compactMap { Int($0) }
                guard size.count == 2 else { continue }
                guard let data = FileBytes.read(rawImages + "/" + name) else { return "cannot read \(name)" }
                let r = try letterboxOnce(
                    context: context, stream: stream, letterbox: letterbox, width: size[0], height: size[1],
                    format: .bgr,
                    element: .float32, layout: .nchw, bgr: data)
                worst = max(worst, Self.maxDifference(r.gpu, r.cpu))
                count += 1
            }
            if count == 0 { return "no NAME.WxH.bgr files" }
            return worst == 0 ? nil : "max |difference| \(worst) over \(count) images"
        }
        log("  (\(count) val images, max |difference| \(worst))")
    }

    func graphs(context: CUDAContext, stream: CUDAStream, letterbox: GPULetterbox) {
        check("CUDA graph replay equals direct launch") {
            let width = 1920
            let height = 1080
            let frameBytes = width * height * 3
            let host = try HostBuffer.pinned(byteCount: frameBytes, context: context)
            host.withUnsafeMutableBytes {
                SyntheticFrames.fill($0, width: width, height: height, pitch: width * 3, index: 3)
            }
            let frame = try DeviceBuffer(context: context, byteCount: frameBytes)
            let direct = try DeviceBuffer(context: context, byteCount: 640 * 640 * 3 * 4)
            let replayed = try DeviceBuffer(context: context, byteCount: 640 * 640 * 3 * 4)
            let source = DeviceFrame(pointer: frame.pointer(), format: .bgr, width: width, height: height)
            try stream.copy(host, to: frame)
            try letterbox.launch(frame: source, into: TensorSlot(tensor: direct.pointer()), on: stream)
            let graph = try stream.capture { s in
                try letterbox.launch(frame: source, into: TensorSlot(tensor: replayed.pointer()), on: s)
            }
            try stream.fill(replayed, byte: 0xFF)
            for _ in 0..<3 { try graph.launch(on: stream) }
            let a = try HostBuffer.pinned(byteCount: direct.byteCount, context: context)
            let b = try HostBuffer.pinned(byteCount: replayed.byteCount, context: context)
            try stream.copy(direct, to: a)
            try stream.copy(replayed, to: b)
            try stream.synchronize()
            let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
            return same ? nil : "replayed tensor differs"
        }
        check("events recorded inside a captured copy are recorded by each replay, and time it") {
            let bytes = 4 << 20
            let host = try HostBuffer.pinned(byteCount: bytes, context: context)
            let back = try HostBuffer.pinned(byteCount: bytes, context: context)
            let device = try DeviceBuffer(context: context, byteCount: bytes)
            let start = try CUDAEvent(context: context)
            let end = try CUDAEvent(context: context)
            let graph = try stream.capture { s in
                try start.recordInCapture(on: s)
                try s.copy(host, to: device)
                try end.recordInCapture(on: s)
            }
            for round in 0..<2 {
                let pattern = randomBytes(bytes, seed: UInt64(round + 11))
                host.withUnsafeMutableBytes { $0.copyBytes(from: pattern) }
                try graph.launch(on: stream)
                try end.synchronize()
                let ms = try end.milliseconds(since: start)
                if !(ms > 0 && ms < 100) { return "replay \(round): \(ms) ms between the events" }
                try stream.copy(device, to: back)
                try stream.synchronize()
                if !back.withUnsafeBytes({ $0.elementsEqual(pattern) }) { return "replay \(round) copied other bytes" }
            }
            return nil
        }
    }

    func errors(context: CUDAContext, stream: CUDAStream, letterbox: GPULetterbox, nvrtc: NVRTC) {
        check("a bad launch is reported as a CUDA error and the context still works") {
            let module = letterbox.module
            let function = try module.function(
                LetterboxKernelSource.entryPoint(format: .bgr, element: .float32, layout: .nchw))
            do {
                try function.launch(grid: Dim3(1), block: Dim3(4096), on: stream, Int32(0))
                return "a 4096-thread block launched"
            } catch let error as CUDAError {
                log("  reported: \(error)")
                if !error.name.hasPrefix("CUDA_ERROR_") { return "error has no CUDA name: \(error)" }
            }
            do {
                _ = try module.function("no_such_kernel")
                return "a missing kernel was found"
            } catch {
                log("  reported: \(error)")
            }
            let r = try letterboxOnce(
                context: context, stream: stream, letterbox: letterbox, width: 64, height: 48, format: .bgr,
                element: .float32,
                layout: .nchw)
            return Self.maxDifference(r.gpu, r.cpu) == 0 ? nil : "context broken after the error"
        }
        check("an NVRTC compile error is reported with the compiler log") {
            do {
                _ = try nvrtc.compile(
                    source: "extern \"C\" __global__ void k() { nope(); }", name: "bad.cu", options: [], kind: .ptx)
                return "bad source compiled"
            } catch let error as NVRTCError {
                log("  reported: \(error.call): \(error.message); log: \(error.log.split(separator: "\n").first ?? "")")
                return error.log.contains("nope") ? nil : "log does not name the error"
            }
        }
        check("managed memory beyond the card's free memory is refused, not allocated") {
            let (free, _) = try context.memoryInfo()
            do {
                _ = try HostBuffer.managed(byteCount: free, context: context)
                return "\(free) bytes of managed memory were allocated"
            } catch {
                log("  reported: \(error)")
                return nil
            }
        }
    }

    func allocations(context: CUDAContext, stream: CUDAStream, letterbox: GPULetterbox) {
        check(
            "steady-state copy + letterbox + event: Lookout allocates nothing on host or device (the driver's own reported)"
        ) {
            let width = 1920
            let height = 1080
            let host = try HostBuffer.pinned(byteCount: width * height * 3, context: context)
            let frame = try DeviceBuffer(context: context, byteCount: width * height * 3)
            let tensor = try DeviceBuffer(context: context, byteCount: 640 * 640 * 3 * 4 * 2)
            let event = try CUDAEvent(context: context)
            func once(_ i: Int) throws {
                try stream.copy(host, to: frame)
                try letterbox.launch(
                    frame: DeviceFrame(pointer: frame.pointer(), format: .bgr, width: width, height: height),
                    into: TensorSlot(tensor: tensor.pointer(), batchIndex: i % 2), on: stream)
                try event.record(on: stream)
                try event.synchronize()
            }
            for i in 0..<20 { try once(i) }
            // Lookout's allocations on this thread, apart from those inside the driver calls and on the driver's
            // own threads (which the ledger reports separately).
            let cuda0 = Measurement.cudaAllocations()
            AllocationCount.attributeNVIDIALibraries()
            guard let before = AllocationCount.now() else { return "the counting allocator is not linked" }
            for i in 0..<200 { try once(i) }
            let cudaDelta = Measurement.cudaAllocations() - cuda0
            guard let after = AllocationCount.now() else { return "no allocation count" }
            let report = before.report(until: after, frames: 200)
            let hostDelta = report.ours
            log(
                "  200 frames: \(report.ours) host allocations by Lookout, \(report.driver) by the driver; "
                    + "\(cudaDelta) CUDA allocations")
            return hostDelta == 0 && cudaDelta == 0 ? nil : "allocations in steady state"
        }
    }
}

extension GPUSelftest {
    /// The frame pool's event fences: a buffer released behind GPU work comes back only once that work has run.
    func poolFences(context: CUDAContext, stream: CUDAStream) {
        check("a pooled frame released behind the GPU returns to its pool only when its fence completes") {
            let pool = try FramePool(
                count: 1, policy: .report,
                makeBuffer: { _ throws(CUDAError) in try HostBuffer.pinned(byteCount: 4096, context: context) },
                makeFence: { _ throws(CUDAError) in try CUDAEvent(context: context, timing: false) })
            // The stream waits on a word of mapped memory, so the fence recorded behind it cannot complete until
            // the word is set.
            let word = try HostBuffer.mapped(byteCount: 4, context: context)
            word.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
            guard let lease = try pool.acquire() else { return "a fresh pool had no buffer" }
            try stream.wait(untilWordAt: word.devicePointer!, reaches: 1)
            try lease.release(afterWorkOn: stream)
            var early = false
            if (try pool.acquire()) != nil { early = true }
            word.withUnsafeMutableBytes { lookout_publish_u32($0.baseAddress!.assumingMemoryBound(to: UInt32.self), 1) }
            try stream.synchronize()
            guard !early else { return "the buffer came back before its fence completed" }
            guard (try pool.acquire()) != nil else { return "the buffer did not come back once its fence completed" }
            return nil
        }
        check("leases released behind the GPU never share a buffer (4 threads × 5,000 leases of a 3-buffer pool)") {
            // Behind an idle stream each fence passes at once, so a buffer is reclaimed and leased again while the
            // thread that released it is still returning: the window where a lease's end could free a buffer
            // under its next holder. Each holder stamps the buffer and checks the stamp before letting it go.
            let pool = try FramePool(
                count: 3, policy: .wait,
                makeBuffer: { _ throws(CUDAError) in try HostBuffer.pinned(byteCount: 64, context: context) },
                makeFence: { _ throws(CUDAError) in try CUDAEvent(context: context, timing: false) })
            let idle = try CUDAStream(context: context)
            let threads = 4
            let finished = ConditionLock()
            nonisolated(unsafe) var done = 0
            nonisolated(unsafe) var problems: [String] = []
            for worker in 0..<threads {
                PlatformThread.spawn(name: "lookout-selftest-lease-\(worker)") {
                    var problem: String? = nil
                    do {
                        try context.bind()
                        for round in 0..<5_000 where problem == nil {
                            guard let lease = try pool.acquire() else {
                                problem = "worker \(worker): no buffer"
                                break
                            }
                            let stamp = UInt64(worker) << 32 | UInt64(round)
                            lease.withUnsafeMutableBytes { $0.storeBytes(of: stamp, as: UInt64.self) }
                            // Let the other workers run while this one holds the buffer.
                            sched_yield()
                            let seen = lease.withUnsafeBytes { $0.load(as: UInt64.self) }
                            if seen != stamp {
                                problem = "worker \(worker) round \(round): another holder wrote its buffer"
                            }
                            try lease.release(afterWorkOn: idle)
                        }
                    } catch {
                        problem = "worker \(worker): \(error)"
                    }
                    finished.withLock {
                        if let problem { problems.append(problem) }
                        done += 1
                        finished.broadcast()
                    }
                }
            }
            let deadline = MonotonicClock.seconds() + 60
            let outcome = finished.withLock { () -> [String]? in
                while done < threads && MonotonicClock.seconds() < deadline {
                    _ = finished.wait(untilMonotonic: deadline)
                }
                return done < threads ? nil : problems
            }
            guard let outcome else { return "the workers did not finish in 60 s" }
            return outcome.first
        }
        check("a writer waiting on a pool whose buffers are all leased wakes when one is released behind the GPU") {
            let pool = try FramePool(
                count: 1, policy: .wait,
                makeBuffer: { _ throws(CUDAError) in try HostBuffer.pinned(byteCount: 4096, context: context) },
                makeFence: { _ throws(CUDAError) in try CUDAEvent(context: context, timing: false) })
            guard let lease = try pool.acquire() else { return "a fresh pool had no buffer" }
            // The writer finds the one buffer leased (not fenced) and sleeps until the pool wakes it.
            let outcome = ConditionLock()
            nonisolated(unsafe) var got: String? = nil
            PlatformThread.spawn(name: "lookout-selftest-writer") {
                let result: String
                do {
                    try context.bind()
                    if let lease = try pool.acquire() { result = "slot \(lease.slot)" } else { result = "no buffer" }
                } catch {
                    result = "\(error)"
                }
                outcome.withLock {
                    got = result
                    outcome.broadcast()
                }
            }
            var slept = 0
            while pool.waitingWriters == 0 && slept < 2000 {
                usleep(1000)
                slept += 1
            }
            try lease.release(afterWorkOn: stream)
            let deadline = MonotonicClock.seconds() + 5
            let result = outcome.withLock { () -> String? in
                while got == nil && MonotonicClock.seconds() < deadline { _ = outcome.wait(untilMonotonic: deadline) }
                return got
            }
            guard let result else { return "the writer still waits 5 s after the buffer was released behind the GPU" }
            return result == "slot 0" ? nil : "the writer got \(result)"
        }
    }
}
