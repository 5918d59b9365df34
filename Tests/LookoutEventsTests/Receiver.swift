import Foundation
import LookoutTestFixtures

/// scripts/webhook-receiver.py as a subprocess: a real HTTP server on 127.0.0.1 that logs every delivery.
final class Receiver: @unchecked Sendable {
    let log: String
    private(set) var port: Int
    private var process: Process?
    let extra: [String]

    init(log: String, port: Int = 0, extra: [String] = []) throws {
        self.log = log
        self.port = port
        self.extra = extra
        try start()
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", Fixtures.repository + "/scripts/webhook-receiver.py", String(port), log] + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "listening PORT" once bound (a restart on the same port may wait for the old socket to go).
        let line = String(decoding: pipe.fileHandleForReading.availableDataLine(), as: UTF8.self)
        guard line.hasPrefix("listening "),
            let bound = Int(line.dropFirst(10).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "receiver did not start: \(line)"])
        }
        port = bound
        self.process = process
    }

    /// SIGKILL: the receiver vanishes mid-request, as a crashed service does.
    func kill() {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    var url: String { "http://127.0.0.1:\(port)/events" }

    /// Every delivery logged so far: (idempotency key, event id in the body).
    func deliveries() -> [(key: String, id: String)] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let key = object["idempotency_key"] as? String, let body = object["body"] as? [String: Any],
                let id = body["id"] as? String
            else { return nil }
            return (key, id)
        }
    }

    deinit { kill() }
}

extension FileHandle {
    /// Bytes up to the first newline.
    func availableDataLine() -> Data {
        var out = Data()
        while true {
            let byte = readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { return out }
            out.append(byte)
        }
    }
}

/// A free TCP port on 127.0.0.1 nobody listens on (bound, read, closed).
func unusedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
