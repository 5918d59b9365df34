import Foundation
import Testing

@testable import LookoutModel

/// Issue 2 §8: corrupt model files — random truncations and byte flips, seeded — never crash or hang the loader;
/// every failure is one `ModelError` line naming the file.
///
/// Most iterations mutate tiny matrix exports (static, raw dynamic with Constant-node plumbing, float16 IO); some
/// mutate the real dynamic shapes model. Flips land mostly outside the weight payloads, where the structure is.
@Suite(.serialized) struct ModelFuzzTests {
    /// Deterministic generator (SplitMix64).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    struct Target: Sendable {
        var path: String
        var iterations: Int
        var seed: UInt64
    }

    struct Tally: Sendable {
        var iterations = 0
        var loaded = 0
        var failures: [String: Int] = [:]
        var slowest = 0.0
        var problems: [String] = []

        mutating func merge(_ other: Tally) {
            iterations += other.iterations
            loaded += other.loaded
            failures.merge(other.failures, uniquingKeysWith: +)
            slowest = max(slowest, other.slowest)
            problems += other.problems
        }
    }

    /// Byte offsets outside weight payloads: names, node lists, attributes, shapes, metadata, and the payloads of
    /// small initializers (Reshape targets, split sizes, Resize scales, Slice bounds), where a flip changes sizes.
    static func structuralOffsets(_ path: String) throws -> [Int] {
        let model = try ONNXModel(contentsOfFile: path)
        var inPayload = [Bool](
            repeating: false, count: try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int)
        for tensor in model.graph.initializers {
            if case .raw(let range) = tensor.payload, range.count > 64 { for i in range { inPayload[i] = true } }
        }
        return inPayload.indices.filter { !inPayload[$0] }
    }

    /// Loads `bytes` as the file `path` (written, loaded, removed) or from memory; records what happened.
    static func load(_ bytes: [UInt8], path: String, fromMemory: Bool, replan: Bool, tally: inout Tally) {
        let start = Date()
        defer {
            tally.iterations += 1
            tally.slowest = max(tally.slowest, Date().timeIntervalSince(start))
        }
        do throws(ModelError) {
            let model: DetectionModel
            if fromMemory {
                do throws(ModelError) {
                    model = try DetectionModel(onnx: try ONNXModel(bytes: ModelBytes(copying: bytes)), path: path)
                } catch {
                    throw error.inFile(path)
                }
            } else {
                guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                    tally.problems.append("cannot write \(path)")
                    return
                }
                defer { try? FileManager.default.removeItem(atPath: path) }
                model = try DetectionModel(path: path)
            }
            // A model that still loads must also plan another input size when it is dynamic.
            if replan && model.isDynamic { _ = try model.plan(forInputShape: [2, 3, 64, 96]) }
            tally.loaded += 1
        } catch {
            let text = error.description
            tally.failures[error.code.description, default: 0] += 1
            if text.contains("\n") || !text.hasPrefix(path + ": ") || text.count > 4000 {
                tally.problems.append("not one line naming the file: \(text.prefix(300))")
            }
        }
    }

    /// Runs `target.iterations` mutations of one model: a third truncations, the rest 1–3 byte flips.
    static func fuzz(_ target: Target, worker: Int, workers: Int, directory: String) throws -> Tally {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target.path)))
        let structural = try structuralOffsets(target.path)
        var random = Generator(state: target.seed &+ UInt64(worker) &* 0x1000_0001)
        var tally = Tally()
        let path = directory + "/w\(worker)-" + (target.path as NSString).lastPathComponent
        for i in 0..<target.iterations where i % workers == worker {
            var bytes = original
            if random.below(3) == 0 {
                // Truncations: anywhere, with many cuts close to the start where the header and graph begin.
                let limit = random.below(4) == 0 ? min(4096, original.count) : original.count
                bytes.removeSubrange(random.below(limit)..<original.count)
            } else {
                for _ in 0...random.below(3) {
                    let offset =
                        random.below(10) < 9 ? structural[random.below(structural.count)] : random.below(original.count)
                    bytes[offset] ^= UInt8(1 + random.below(255))
                }
            }
            load(bytes, path: path, fromMemory: i % 4 == 1, replan: i % 4 == 2, tally: &tally)
        }
        return tally
    }

    /// Runs the targets one after the other on this thread: the test runner already runs other suites beside this
    /// one, and child tasks would only queue behind them on the cooperative pool.
    static func run(_ targets: [Target]) throws -> Tally {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lookout-fuzz-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var total = Tally()
        for target in targets { total.merge(try fuzz(target, worker: 0, workers: 1, directory: directory)) }
        return total
    }

    static func report(_ label: String, _ tally: Tally, seconds: Double) {
        let failures = tally.failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print(
            String(
                format: "fuzz %@: %d iterations in %.1f s (slowest %.3f s): %d loaded, rejected: %@", label,
                tally.iterations,
                seconds, tally.slowest, tally.loaded, failures))
    }

    // The limit only catches a hang: the run takes ~35 s of CPU in a debug build, more on a busy machine.
    @Test(.timeLimit(.minutes(10)))
    func corruptMatrixModelsFailWithOneLine() throws {
        // Float16 weights decode slowly in a debug build: fewer iterations there.
        // Raw exports (no value_info, whose bytes the loader skips) get most of the flips.
        let files = [
            ("u84-static-raw.onnx", 3000), ("u83-dynamic-raw.onnx", 3000), ("u80-op12.onnx", 1500),
            ("u84-static.onnx", 2000),
            ("u84-gpu-half.onnx", 500),
        ]
        let targets = try files.enumerated().map { k, file in
            Target(path: try Fixtures.generated("onnx/" + file.0), iterations: file.1, seed: 1000 + UInt64(k))
        }
        let start = Date()
        let tally = try Self.run(targets)
        Self.report("matrix models", tally, seconds: Date().timeIntervalSince(start))
        #expect(tally.iterations == 10_000)
        #expect(tally.problems.isEmpty, "\(tally.problems.count) problems, e.g. \(tally.problems.prefix(5))")
        #expect(tally.slowest < 10, "one load took \(tally.slowest) s")
        // Both outcomes happen: the mutations reach past the parser.
        #expect(tally.loaded > 100 && tally.failures.values.reduce(0, +) > 1000)
    }

    @Test(.timeLimit(.minutes(10)))
    func corruptRealModelFailsWithOneLine() throws {
        let start = Date()
        let tally = try Self.run([Target(path: Fixtures.dynamicModel, iterations: 240, seed: 77)])
        Self.report("shapes-yolov8n-dynamic", tally, seconds: Date().timeIntervalSince(start))
        #expect(tally.iterations == 240)
        #expect(tally.problems.isEmpty, "\(tally.problems.prefix(5))")
        #expect(tally.slowest < 10)
    }
}
