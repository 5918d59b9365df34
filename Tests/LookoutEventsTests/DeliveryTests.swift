import Foundation
import LookoutCore
import LookoutTestFixtures
import Synchronization
import Testing

@testable import LookoutEvents

@Suite(.serialized) struct DeliveryTests {
    static func hook(_ url: String, timeout: Double = 2) -> SinkConfiguration {
        var w = WebhookConfiguration(name: "hook", url: url)
        w.snapshot = .inline
        w.timeout = timeout
        w.initialBackoff = 0.05
        w.maxBackoff = 0.4
        return .webhook(w)
    }

    static func addEvents(_ store: EventStore, run: Int64, from: Int, count: Int) throws {
        var batch = StoreBatch()
        batch.time = WallClock.milliseconds()
        batch.opened = (from..<(from + count)).map {
            StoreBatch.Opened(
                event: EventStoreTests.event($0, time: WallClock.milliseconds()), snapshot: [0xFF, 0xD8, 0xFF, 0xD9],
                sinks: ["hook"])
        }
        try store.write(batch, run: run)
    }

    /// The receiver is killed and restarted mid-run: every stored event arrives (at least once), nothing else does.
    @Test func everyEventArrivesAcrossAReceiverRestart() async throws {
        let folder = try Fixtures.temporaryDirectory("delivery")
        let receiver = try Receiver(log: folder + "/received.jsonl")
        let store = try EventStore(path: folder + "/events.db")
        let run = try store.beginRun(sources: ["a"], now: 0)
        try Self.addEvents(store, run: run, from: 0, count: 100)
        let lines = Mutex<[String]>([])
        let deliverer = Deliverer(sink: Self.hook(receiver.url), storePath: store.path) { line in
            lines.withLock { $0.append(line) }
        }
        let task = Task { try await deliverer.run() }
        while receiver.deliveries().count < 30 { try await Task.sleep(nanoseconds: 10_000_000) }
        receiver.kill()
        try Self.addEvents(store, run: run, from: 100, count: 100)
        deliverer.ring()
        try await Task.sleep(nanoseconds: 1_000_000_000)
        try receiver.start()
        deliverer.finish(deadline: WallClock.milliseconds() + 30_000)
        try await task.value
        let stored = Set(try store.events().map(\.id))
        let received = receiver.deliveries()
        #expect(stored.count == 200)
        #expect(Set(received.map(\.id)) == stored)
        #expect(received.allSatisfy { $0.key == $0.id && stored.contains($0.id) })
        #expect(try store.pendingCount() == 0)
        #expect(try store.deliveredEventIDs(sink: "hook") == stored)
        let said = lines.withLock { $0 }
        #expect(said.contains { $0.contains("webhook 'hook' (\(receiver.url))") && $0.contains("retrying") })
        #expect(said.contains { $0.contains("delivering again") })
    }

    /// A URL that refuses, and one that never answers: one line each naming the URL; the events stay owed.
    @Test(arguments: ["refuses", "hangs"])
    func failingReceiverIsReportedOnceAndEventsStayOwed(_ kind: String) async throws {
        let folder = try Fixtures.temporaryDirectory("delivery")
        var receiver: Receiver?
        var url = "http://127.0.0.1:\(unusedPort())/events"
        if kind == "hangs" {
            receiver = try Receiver(log: folder + "/received.jsonl", extra: ["--delay", "30"])
            url = receiver!.url
        }
        let store = try EventStore(path: folder + "/events.db")
        let run = try store.beginRun(sources: ["a"], now: 0)
        try Self.addEvents(store, run: run, from: 0, count: 5)
        let lines = Mutex<[String]>([])
        let deliverer = Deliverer(sink: Self.hook(url, timeout: 0.3), storePath: store.path) { line in
            lines.withLock { $0.append(line) }
        }
        deliverer.finish(deadline: WallClock.milliseconds() + 2_000)
        try await deliverer.run()
        let said = lines.withLock { $0 }
        let failures = said.filter { $0.contains("retrying") }
        #expect(failures.count == 1, "\(said)")
        #expect(failures.first?.contains(url) == true)
        #expect(
            failures.first?.contains(kind == "refuses" ? "connection refused" : "no response within 0.3 s") == true,
            "\(failures)")
        #expect(said.contains { $0.contains("5 deliveries still owed") })
        #expect(try store.pendingCount() == 5)
        #expect(deliverer.failureCount >= 2)
        _ = receiver
    }
}
