import ArgumentParser
import Foundation
import LookoutCore

/// A baseline script (`bench/baselines/*.py`), run with the bench command's Python: it prints one JSON object per
/// line, each a row of the shared bench report.
enum BaselineScript {
    /// The script's rows, the columns in `order` first and the rest sorted by name. Numbers written without a
    /// fraction or exponent stay integers. With `echo` each row is also printed as the script wrote it.
    static func rows(
        python: String, script: String, arguments: [String], order: [String], echo: Bool = false
    ) throws -> [[(String, JSONValue)]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Console.fail("baseline \(script) exited with \(process.terminationStatus)")
        }
        var rows: [[(String, JSONValue)]] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("{") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            var row: [(String, JSONValue)] = []
            for key in order + object.keys.filter({ !order.contains($0) }).sorted() {
                guard let value = object[key] else { continue }
                switch value {
                case let s as String: row.append((key, .string(s)))
                case let n as NSNumber:
                    let text = String(describing: n)
                    row.append(
                        (key, text.contains(".") || text.contains("e") ? .double(n.doubleValue) : .int(n.intValue)))
                case is NSNull: row.append((key, .null))
                default: row.append((key, .string(String(describing: value))))
                }
            }
            if echo { print(line) }
            rows.append(row)
        }
        return rows
    }
}
