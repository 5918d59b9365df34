import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// A baseline script (`bench/baselines/*.py`), run with the bench command's Python: it prints one JSON object per
/// line, each a row of the shared bench report.
package enum BaselineScript {
    /// The script's rows, the columns in `order` first and the rest sorted by name. With `echo` each row is also
    /// printed as the script wrote it.
    package static func rows(
        python: String, script: String, arguments: [String], order: [String], echo: Bool = false
    ) throws(LookoutError) -> [[(String, JSONValue)]] {
        let (status, output) = try Subprocess.run([python, script] + arguments)
        guard status == 0 else { throw LookoutError(.io, "baseline \(script) exited with status \(status)") }
        var rows: [[(String, JSONValue)]] = []
        for line in output.split(separator: "\n") where line.hasPrefix("{") {
            guard case .object(let fields) = try? JSONValue.parse(String(line)) else { continue }
            var row: [(String, JSONValue)] = []
            for key in order { if let value = fields.first(where: { $0.0 == key })?.1 { row.append((key, value)) } }
            for (key, value) in fields.filter({ !order.contains($0.0) }).sorted(by: { $0.0 < $1.0 }) {
                row.append((key, value))
            }
            if echo { StandardStreams.output(line + "\n") }
            rows.append(row)
        }
        return rows
    }
}

/// Runs a program (found on `PATH`) and collects its standard output; its standard error passes through.
package enum Subprocess {
    package static func run(_ arguments: [String]) throws(LookoutError) -> (status: Int32, output: String) {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw LookoutError(.io, "cannot create a pipe for \(arguments[0])") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(pipe[1])
        guard status == 0 else {
            close(pipe[0])
            throw LookoutError(.notFound, "cannot run \(arguments[0]): \(String(cString: strerror(status)))")
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(pipe[0], $0.baseAddress, $0.count) }
            if n > 0 {
                output.append(contentsOf: chunk[0..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        close(pipe[0])
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift cannot import as macros.
        let code = (exit & 0x7f) == 0 ? (exit >> 8) & 0xff : 128 + (exit & 0x7f)
        return (code, String(decoding: output, as: UTF8.self))
    }
}
