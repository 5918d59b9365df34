import Foundation
import LookoutCore
import LookoutTestFixtures
import Synchronization
import Testing

@testable import LookoutEvents

/// The delivery guarantee end to end, with real processes: `lookout track` on a real video with rules that fire
/// often, a webhook receiver that is down a third of the time, and Lookout itself SIGKILLed once and restarted on the
/// same store.
@Suite(.serialized) struct NothingLostTests {
    static let lookout: String = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("lookout").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return Fixtures.repository + "/.build/debug/lookout"
    }()

    /// 80 vertical and 80 horizontal lines, one `cross` rule each: every object crosses one every few frames.
    static func rules(url: String) -> String {
        var text = "lines:\n"
        for i in 1...80 {
            let p = Double(i) / 81
            text += "  - {name: v\(i), from: [\(p), 0.0], to: [\(p), 1.0]}\n"
            text += "  - {name: h\(i), from: [0.0, \(p)], to: [1.0, \(p)]}\n"
        }
        text +=
            "sinks:\n  - {name: hook, type: webhook, url: \"\(url)\", snapshot: none, timeout: 2, backoff: 0.1, max_backoff: 0.8}\n"
        text += "rules:\n"
        for i in 1...80 {
            text += "  - {name: cross-v\(i), trigger: cross, line: v\(i)}\n"
            text += "  - {name: cross-h\(i), trigger: cross, line: h\(i)}\n"
        }
        return text
    }

    static func start(_ arguments: [String], folder: String, log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lookout)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["LOOKOUT_MODELS"] = Fixtures.repository + "/Models"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        return process
    }

    static func frames(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        // The last line may be cut by the kill.
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The events the rules open on the frames a run reported (its --json): (rule, track, start frame).
    static func replay(_ frames: [[String: Any]], rules: RuleSet) -> Set<String> {
        let engine = RuleEngine(set: rules, stream: 0, source: "clip", classNames: [])
        var out = Set<String>()
        for frame in frames {
            let objects = (frame["detections"] as! [[String: Any]]).map { d in
                let box = (d["box"] as! [NSNumber]).map { Float(truncating: $0) }
                return TrackedObject(
                    id: d["id"] as! Int, x1: box[0], y1: box[1], x2: box[2], y2: box[3],
                    confidence: Float(truncating: d["confidence"] as! NSNumber), classIndex: d["class"] as! Int,
                    detectionIndex: 0)
            }
            let result = engine.process(
                RuleEngine.Frame(
                    frame: frame["frame"] as! Int, seconds: 0, wallTime: 0, width: frame["width"] as! Int,
                    height: frame["height"] as! Int, objects: objects))
            for e in result.opened { out.insert("\(e.rule) \(e.trackID ?? -1) \(e.startFrame)") }
        }
        return out
    }

    @Test(.timeLimit(.minutes(6))) func nothingIsLostAcrossAKillAndADownReceiver() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.lookout), "build lookout first")
        let folder = try Fixtures.temporaryDirectory("nothing-lost")
        let receiver = try Receiver(log: folder + "/received.jsonl")
        let rulesPath = folder + "/rules.yaml"
        try Self.rules(url: receiver.url).write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let db = folder + "/events.db"
        let video = Fixtures.path("video/shapes-1080p.mp4")
        func arguments(_ json: String, frames: Int) -> [String] {
            [
                "track", video, "--loop", "--max-frames", String(frames), "--device", "cpu", "--rules", rulesPath,
                "--db", db, "--json", json, "--drain-seconds", "60",
            ]
        }
        // The receiver: up 1.8 s, down 1.2 s, until told to stop (then up).
        let stop = Mutex(false)
        let downSeconds = Mutex(0.0)
        let toggler = Thread {
            var up = true
            var last = Date()
            while !stop.withLock({ $0 }) {
                Thread.sleep(forTimeInterval: 0.05)
                let elapsed = Date().timeIntervalSince(last)
                if up && elapsed >= 1.8 {
                    receiver.kill()
                    up = false
                    last = Date()
                } else if !up && elapsed >= 1.2 {
                    try? receiver.start()
                    downSeconds.withLock { $0 += elapsed }
                    up = true
                    last = Date()
                }
            }
            if !up { try? receiver.start() }
        }
        let began = Date()
        toggler.start()
        // Run 1: killed with SIGKILL once it has reported 200 frames.
        let first = try Self.start(
            arguments(folder + "/run1.jsonl", frames: 2000), folder: folder, log: folder + "/run1.log")
        while Self.frames(folder + "/run1.jsonl").count < 200 && first.isRunning {
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(
            first.isRunning,
            "run 1 ended before the kill: \((try? String(contentsOfFile: folder + "/run1.log", encoding: .utf8)) ?? "")"
        )
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        let reportedBeforeKill = Self.frames(folder + "/run1.jsonl")
        // Run 2: the same store; it delivers what run 1 still owed, then its own.
        let second = try Self.start(
            arguments(folder + "/run2.jsonl", frames: 300), folder: folder, log: folder + "/run2.log")
        while second.isRunning { try await Task.sleep(nanoseconds: 100_000_000) }
        stop.withLock { $0 = true }
        while toggler.isExecuting { try await Task.sleep(nanoseconds: 50_000_000) }
        let log2 = (try? String(contentsOfFile: folder + "/run2.log", encoding: .utf8)) ?? ""
        #expect(second.terminationStatus == 0, "\(log2)")
        let wall = Date().timeIntervalSince(began)
        let down = downSeconds.withLock { $0 }
        print("nothing-lost: \(wall) s, receiver down \(down) s (\(Int(down / wall * 100))%)")

        let store = try EventStore(path: db)
        #expect(try store.integrityCheck() == "ok")
        let stored = try store.events()
        let ids = Set(stored.map(\.id))
        print("nothing-lost: \(stored.count) events stored, \(receiver.deliveries().count) deliveries received")
        #expect(stored.count >= 1000)
        #expect(down / wall >= 0.3)
        let received = receiver.deliveries()
        #expect(
            Set(received.map(\.id)).isSuperset(of: ids), "every stored event delivered at least once; run 2: \(log2)")
        #expect(received.allSatisfy { ids.contains($0.id) && $0.key == $0.id }, "every delivery names a stored event")
        var owed: [String] = []
        let o = try store.db.prepare("SELECT event_id, attempts, next_attempt_at, created_at, last_error FROM outbox")
        while try o.step() {
            owed.append(
                "\(o.string(0) ?? "") attempts \(o.int(1)) next \(o.int64(2)) created \(o.int64(3)) \(o.string(4) ?? "")"
            )
        }
        #expect(owed.isEmpty, "owed: \(owed); run 2: \(log2)")
        // Every event of a frame run 1 reported before the kill is in the store (as run 1's).
        let rules = try RuleSet.load(path: rulesPath, classNames: ["circle", "square", "triangle", "star"])
        let expected = Self.replay(reportedBeforeKill, rules: rules)
        let s = try store.db.prepare("SELECT rule, track_id, start_frame FROM events WHERE run_id = 1")
        var inRun1 = Set<String>()
        while try s.step() { inRun1.insert("\(s.string(0) ?? "") \(s.int(1)) \(s.int(2))") }
        print(
            "nothing-lost: run 1 reported \(reportedBeforeKill.count) frames before the kill; their rules open \(expected.count) events, the store has \(inRun1.count) of run 1"
        )
        #expect(!expected.isEmpty)
        #expect(expected.isSubset(of: inRun1), "missing: \(expected.subtracting(inRun1).prefix(5))")
    }
}
