import Foundation
import LookoutTestFixtures
import Testing

/// Bad input to `lookout track`, as a user meets it: a rule file that is not YAML, names a class the model does not
/// have or draws a polygon that crosses itself, a store that is damaged or cannot be written (the run cannot go on:
/// one line naming the file, non-zero exit), and a webhook that refuses or hangs (the run goes on: one line naming
/// the URL, the events kept in the store, exit 0).
@Suite(.serialized) struct BadInputCLITests {
    static let video = Fixtures.path("video/shapes-640x384.mp4")

    struct Outcome {
        var status: Int32
        var stderr: String
        var lines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    static func track(_ arguments: [String], in folder: String, timeout: Double = 120) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NothingLostTests.lookout)
        process.arguments = ["track", video, "--device", "cpu", "--max-frames", "12"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["LOOKOUT_MODELS"] = Fixtures.repository + "/Models"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let log = folder + "/stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            Issue.record("lookout track \(arguments) ran past \(timeout) s")
        }
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stderr: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// A run that cannot go on: non-zero exit, exactly one line, naming `names` and saying `reason`.
    static func expectOneLine(_ outcome: Outcome, naming names: [String], _ reason: String) {
        #expect(outcome.status != 0)
        #expect(outcome.lines.count == 1, "\(outcome.stderr)")
        for name in names { #expect(outcome.stderr.contains(name), "\(outcome.stderr)") }
        #expect(outcome.stderr.contains(reason), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("Fatal error") && !outcome.stderr.contains("Stack dump"))
    }

    /// One rule that fires for every object: each track is first seen inside a zone covering the frame.
    static let everyObject = """
        zones:
          - {name: all, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
        rules:
          - {name: seen, trigger: enter, zone: all}

        """

    @Test(arguments: [
        ("zones: [\n  - {name: a\n", "not valid YAML"),
        (
            "zones:\n  - {name: a, polygon: [[0,0],[1,0],[1,1],[0,1]]}\nrules:\n  - {name: r, trigger: enter, zone: a, classes: [dog]}\n",
            "rules[0].classes[0]: unknown class 'dog' (the model's classes: circle, square, triangle, star)"
        ),
        (
            "zones:\n  - {name: bow, polygon: [[0,0],[1,1],[1,0],[0,1]]}\nrules:\n  - {name: r, trigger: enter, zone: bow}\n",
            "zones[0].polygon: zone 'bow' intersects itself"
        ),
    ])
    func badRuleFileStopsTheRunInOneLine(_ text: String, _ reason: String) throws {
        let folder = try Fixtures.temporaryDirectory("bad-input")
        let rules = folder + "/rules.yaml"
        try text.write(toFile: rules, atomically: true, encoding: .utf8)
        Self.expectOneLine(try Self.track(["--rules", rules], in: folder), naming: [rules], reason)
    }

    @Test func corruptStoreStopsTheRunInOneLine() throws {
        let folder = try Fixtures.temporaryDirectory("bad-input")
        let db = folder + "/events.db"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: db))
        Self.expectOneLine(
            try Self.track(["--db", db], in: folder), naming: [db],
            "not a Lookout event store or damaged (file is not a database); move it away to start a new one")
    }

    /// A store that cannot be written: a file without write permission, or for root (who writes anyway) an immutable
    /// one (`chattr +i`).
    @Test func readOnlyStoreStopsTheRunInOneLine() throws {
        let folder = try Fixtures.temporaryDirectory("bad-input")
        let db = folder + "/events.db"
        let made = try Self.track(["--db", db, "--max-frames", "1"], in: folder)
        #expect(made.status == 0, "\(made.stderr)")
        if getuid() == 0 {
            let chattr = Process()
            chattr.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            chattr.arguments = ["chattr", "+i", db]
            chattr.standardError = FileHandle.nullDevice
            try chattr.run()
            chattr.waitUntilExit()
            guard chattr.terminationStatus == 0 else {
                // A file system without the immutable flag (overlayfs): root can write any file there.
                print("readOnlyStoreStopsTheRunInOneLine: not checked (running as root where chattr +i fails)")
                return
            }
        } else {
            chmod(db, 0o444)
        }
        defer {
            if getuid() == 0 {
                let undo = Process()
                undo.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                undo.arguments = ["chattr", "-i", db]
                try? undo.run()
                undo.waitUntilExit()
            }
        }
        Self.expectOneLine(
            try Self.track(["--db", db], in: folder), naming: [db],
            "cannot write the event store (attempt to write a readonly database); give a writable database path")
    }

    /// A webhook that refuses connections, and one that accepts and never answers: the run goes on and ends well,
    /// the failure said once naming the URL, every event in the store and still owed.
    @Test(arguments: ["refuses", "hangs"])
    func failingWebhookIsReportedAndTheRunGoesOn(_ kind: String) throws {
        let folder = try Fixtures.temporaryDirectory("bad-input")
        var receiver: Receiver?
        var url = "http://127.0.0.1:\(unusedPort())/events"
        if kind == "hangs" {
            receiver = try Receiver(log: folder + "/received.jsonl", extra: ["--delay", "60"])
            url = receiver!.url
        }
        let rules = folder + "/rules.yaml"
        try
            (Self.everyObject
            + "sinks:\n  - {name: hook, type: webhook, url: \"\(url)\", timeout: 0.5, backoff: 0.2, max_backoff: 1}\n")
            .write(toFile: rules, atomically: true, encoding: .utf8)
        let db = folder + "/events.db"
        let outcome = try Self.track(["--rules", rules, "--db", db, "--drain-seconds", "2"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let failures = outcome.lines.filter { $0.contains("retrying") }
        #expect(failures.count == 1, "\(outcome.stderr)")
        #expect(failures.first?.contains("webhook 'hook' (\(url))") == true, "\(outcome.stderr)")
        #expect(
            failures.first?.contains(kind == "refuses" ? "connection refused" : "no response within 0.5 s") == true,
            "\(outcome.stderr)")
        #expect(outcome.stderr.contains("tracked 12 frames"), "the pipeline ran to the end: \(outcome.stderr)")
        #expect(outcome.stderr.contains("deliveries still owed"), "\(outcome.stderr)")
        _ = receiver
    }
}
