import Foundation
import LookoutCore
import LookoutTestFixtures
import Testing

@testable import LookoutEvents

@Suite struct EventStoreTests {
    static func event(_ n: Int, time: Int64, state: Event.State = .closed) -> Event {
        Event(
            id: EventID.make(milliseconds: time), rule: n % 2 == 0 ? "even" : "odd", trigger: "cross", stream: n % 3,
            source: "cam\(n % 3).mp4", trackID: n, className: n % 2 == 0 ? "circle" : "star", line: "gate",
            direction: "left-to-right", startTime: time, endTime: state == .closed ? time : nil, startFrame: n,
            endFrame: state == .closed ? n : nil, peakConfidence: 0.5, peakFrame: n, box: [1, 2, 3, 4], state: state)
    }

    @Test func writesQueriesAndSurvivesReopening() throws {
        let folder = try Fixtures.temporaryDirectory("store")
        let path = folder + "/events.db"
        let store = try EventStore(path: path)
        let run = try store.beginRun(sources: ["cam0.mp4"], now: 1_000)
        var batch = StoreBatch()
        batch.time = 1_000
        for n in 0..<30 {
            batch.opened.append(
                StoreBatch.Opened(
                    event: Self.event(n, time: 1_000 + Int64(n)), snapshot: [0xFF, 0xD8, UInt8(n)], sinks: ["hook"]))
        }
        batch.counts[StoreBatch.CountKey(stream: 0, kind: "line", name: "gate", direction: "left-to-right")] = 3
        try store.write(batch, run: run)
        var more = StoreBatch()
        more.time = 2_000
        more.counts[StoreBatch.CountKey(stream: 0, kind: "line", name: "gate", direction: "left-to-right")] = 2
        try store.write(more, run: run)
        let reopened = try EventStore(path: path, readOnly: true)
        #expect(try reopened.eventCount() == 30)
        var filter = EventFilter()
        filter.rule = "even"
        filter.className = "circle"
        #expect(try reopened.events(matching: filter).count == 15)
        filter = EventFilter()
        filter.stream = "cam1.mp4"
        #expect(try reopened.events(matching: filter).count == 10)
        filter = EventFilter()
        filter.since = 1_010
        filter.until = 1_020
        #expect(try reopened.events(matching: filter).map(\.startFrame) == Array(10..<20))
        let first = try #require(try reopened.events().first)
        #expect(first.box == [1, 2, 3, 4] && first.line == "gate")
        #expect(try reopened.snapshot(eventID: first.id) == [0xFF, 0xD8, 0])
        #expect(try reopened.counts().first?.value == 5)
        #expect(try reopened.pendingCount(sink: "hook") == 30)
        #expect(try reopened.integrityCheck() == "ok")
        #expect(try reopened.db.text("PRAGMA journal_mode") == "wal")
    }

    @Test func openEventsOfAKilledRunBecomeInterrupted() throws {
        let path = try Fixtures.temporaryDirectory("store") + "/events.db"
        let store = try EventStore(path: path)
        let run = try store.beginRun(sources: ["a"], now: 0)
        var batch = StoreBatch()
        batch.time = 5
        batch.opened = [StoreBatch.Opened(event: Self.event(1, time: 5, state: .open), snapshot: nil, sinks: [])]
        try store.write(batch, run: run)
        _ = try EventStore(path: path).beginRun(sources: ["a"], now: 10)
        let event = try #require(try store.events().first)
        #expect(event.state == .interrupted && event.endTime == 5)
    }

    @Test func retentionByAgeKeepsOpenAndRecentEvents() throws {
        let path = try Fixtures.temporaryDirectory("store") + "/events.db"
        let store = try EventStore(path: path)
        let run = try store.beginRun(sources: ["a"], now: 0)
        var batch = StoreBatch()
        batch.time = 0
        batch.opened = (0..<10).map {
            StoreBatch.Opened(
                event: Self.event($0, time: Int64($0) * 1000, state: $0 == 0 ? .open : .closed), snapshot: nil,
                sinks: [])
        }
        try store.write(batch, run: run)
        let deleted = try store.applyRetention(RetentionPolicy(maxAgeSeconds: 5), now: 10_000)
        #expect(deleted == 4)  // 1…4 s old enough; the open one at 0 stays
        #expect(try store.events().map(\.startFrame) == [0, 5, 6, 7, 8, 9])
    }

    @Test func retentionBySizeDeletesOldestFirst() throws {
        let path = try Fixtures.temporaryDirectory("store") + "/events.db"
        let store = try EventStore(path: path)
        let run = try store.beginRun(sources: ["a"], now: 0)
        var batch = StoreBatch()
        batch.opened = (0..<200).map {
            StoreBatch.Opened(
                event: Self.event($0, time: Int64($0)), snapshot: [UInt8](repeating: 7, count: 20_000), sinks: [])
        }
        try store.write(batch, run: run)
        #expect(try store.usedBytes() > 3_000_000)
        try store.applyRetention(RetentionPolicy(maxBytes: 1_000_000), now: 0)
        #expect(try store.usedBytes() <= 1_000_000)
        let left = try store.events().map(\.startFrame)
        #expect(!left.isEmpty && left == Array((200 - left.count)..<200))
        #expect(try store.integrityCheck() == "ok")
    }

    /// A read-only file, a corrupt one and a non-Lookout database each fail in one line naming the file.
    @Test func badFilesFailInOneLine() throws {
        let folder = try Fixtures.temporaryDirectory("store")
        let corrupt = folder + "/corrupt.db"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: corrupt))
        #expect {
            _ = try EventStore(path: corrupt)
        } throws: { error in
            let m = (error as? LookoutError)?.message ?? ""
            return m.hasPrefix(corrupt + ": not a Lookout event store or damaged") && !m.contains("\n")
        }
        let readOnly = folder + "/readonly.db"
        _ = try EventStore(path: readOnly)
        chmod(readOnly, 0o444)
        if getuid() != 0 {  // root writes anyway
            #expect {
                _ = try EventStore(path: readOnly).beginRun(sources: [], now: 0)
            } throws: { error in
                ((error as? LookoutError)?.message ?? "\(error)").contains("readonly")
            }
        }
        let readOnlyFolder = folder + "/locked"
        try FileManager.default.createDirectory(atPath: readOnlyFolder, withIntermediateDirectories: true)
        chmod(readOnlyFolder, 0o555)
        if getuid() != 0 {
            #expect(throws: LookoutError.self) { _ = try EventStore(path: readOnlyFolder + "/new.db") }
        }
        let missingFolder = folder + "/no/such/folder/events.db"
        #expect {
            _ = try EventStore(path: missingFolder)
        } throws: { error in
            let m = (error as? LookoutError)?.message ?? ""
            return m.hasPrefix(missingFolder + ": cannot write the event store") && !m.contains("\n")
        }
        let other = folder + "/other.db"
        let foreign = try SQLiteDatabase(path: other)
        try foreign.execute("CREATE TABLE invoices (id INTEGER)")
        #expect {
            _ = try EventStore(path: other)
        } throws: { error in
            ((error as? LookoutError)?.message ?? "").hasPrefix(other + ": not a Lookout event store")
        }
    }
}
