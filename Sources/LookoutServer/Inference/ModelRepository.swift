import LookoutCore
import LookoutInference
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The served models of a folder of ONNX files: `NAME.onnx` gives `NAME` (the raw network) and `NAME-detect`
/// (images in, detections out), both on one `Detector`. Every model loads at start; the repository API unloads and
/// loads them (a load rescans the folder, so a file added later can be loaded).
package final class ModelRepository: Sendable {
    package enum Kind: Sendable { case raw, detect }

    /// A model's place in the repository index.
    package struct Entry: Sendable {
        package var name: String
        package var kind: Kind
        package var stem: String
        package var ready: Bool
        package var reason: String
    }

    struct State {
        /// Stem → path of every ONNX file seen.
        var files: [String: String] = [:]
        /// Stem → the detector shared by `STEM` and `STEM-detect` while either is loaded.
        var detectors: [String: Detector] = [:]
        /// Model names loaded now.
        var loaded: Set<String> = []
        /// Why a model is not loaded (its last load's error, or "unloaded").
        var reasons: [String: String] = [:]
        var statistics: [String: ModelStatistics] = [:]
    }

    package let folder: String
    private let makeDetector: @Sendable (String) throws -> Detector
    private let state = Mutex(State())
    /// Loads run one at a time (a detector is built outside the state's lock).
    private let loading = Mutex(())

    /// `makeDetector` builds the detector of an ONNX file (the CLI picks the device and the engine's tuning).
    package init(folder: String, makeDetector: @escaping @Sendable (String) throws -> Detector) throws(ServeError) {
        self.folder = folder
        self.makeDetector = makeDetector
        let files = try Self.scan(folder)
        state.withLock { $0.files = files }
    }

    /// Loads every model of the folder; returns one line per model that failed.
    package func loadAll() -> [String] {
        var failures: [String] = []
        for stem in state.withLock({ $0.files.keys.sorted() }) {
            for name in [stem, stem + "-detect"] {
                do { try load(name) } catch { failures.append("\(name): \(error.message)") }
            }
        }
        return failures
    }

    /// Every model of the folder, by name.
    package func index() -> [Entry] {
        state.withLock { s in
            s.files.keys.sorted().flatMap { stem in
                [(stem, Kind.raw), (stem + "-detect", Kind.detect)].map { name, kind in
                    Entry(
                        name: name, kind: kind, stem: stem, ready: s.loaded.contains(name),
                        reason: s.loaded.contains(name) ? "" : (s.reasons[name] ?? "not loaded"))
                }
            }
        }
    }

    /// The model's entry; 404 for a name the folder does not hold.
    package func entry(_ name: String) throws(ServeError) -> Entry {
        guard let entry = index().first(where: { $0.name == name }) else {
            throw ServeError(404, "unknown model: '\(name)' is not in the model repository")
        }
        return entry
    }

    /// The detector of a loaded model; 404 for an unknown model, 400 for one not loaded (Triton's answers).
    package func detector(_ name: String) throws(ServeError) -> (Entry, Detector) {
        let entry = try entry(name)
        guard entry.ready, let detector = state.withLock({ $0.detectors[entry.stem] }) else {
            throw ServeError(400, "model '\(name)' is not ready: \(entry.reason)")
        }
        return (entry, detector)
    }

    /// Loads (or reloads) `name`, rescanning the folder first.
    package func load(_ name: String) throws(ServeError) {
        let files = try Self.scan(folder)
        state.withLock { $0.files = files }
        let entry = try entry(name)
        try loading.withLock { _ throws(ServeError) in
            if state.withLock({ $0.detectors[entry.stem] }) == nil {
                let path = files[entry.stem]!
                do {
                    let detector = try makeDetector(path)
                    state.withLock { $0.detectors[entry.stem] = detector }
                } catch {
                    let message = "\(error)"
                    state.withLock { $0.reasons[name] = message }
                    throw ServeError(400, "failed to load '\(name)': \(message)")
                }
            }
            state.withLock {
                $0.loaded.insert(name)
                $0.reasons[name] = nil
            }
        }
    }

    /// Unloads `name`; its file's detector goes once neither of its models is loaded.
    package func unload(_ name: String) throws(ServeError) {
        let entry = try entry(name)
        state.withLock { s in
            s.loaded.remove(name)
            s.reasons[name] = "unloaded"
            if !s.loaded.contains(entry.stem) && !s.loaded.contains(entry.stem + "-detect") {
                s.detectors[entry.stem] = nil
            }
        }
    }

    /// Counts one request of `name`: success or failure, and its time.
    package func record(_ name: String, success: Bool, nanoseconds: UInt64, batch: Int) {
        state.withLock { s in
            var stats = s.statistics[name] ?? ModelStatistics()
            stats.record(success: success, nanoseconds: nanoseconds, batch: batch)
            s.statistics[name] = stats
        }
    }

    package func statistics(_ name: String) -> ModelStatistics {
        state.withLock { $0.statistics[name] ?? ModelStatistics() }
    }

    /// Stem → path of every `*.onnx` in `folder` (symbolic links followed).
    static func scan(_ folder: String) throws(ServeError) -> [String: String] {
        guard let dir = opendir(folder) else {
            throw ServeError(500, "\(folder): cannot read the model repository folder")
        }
        defer { closedir(dir) }
        var files: [String: String] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasSuffix(".onnx"), name.count > 5, !name.hasPrefix(".") else { continue }
            files[String(name.dropLast(5))] = folder + "/" + name
        }
        return files
    }
}

/// Triton's per-model inference statistics.
package struct ModelStatistics: Sendable {
    package var successCount = 0
    package var successNanoseconds: UInt64 = 0
    package var failCount = 0
    package var failNanoseconds: UInt64 = 0
    /// Images (or batch rows) inferred, and engine runs.
    package var inferenceCount = 0
    package var executionCount = 0
    /// Milliseconds since the epoch of the last request (0: none).
    package var lastInference: UInt64 = 0

    mutating func record(success: Bool, nanoseconds: UInt64, batch: Int) {
        if success {
            successCount += 1
            successNanoseconds &+= nanoseconds
            inferenceCount += batch
            executionCount += 1
        } else {
            failCount += 1
            failNanoseconds &+= nanoseconds
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        lastInference = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
