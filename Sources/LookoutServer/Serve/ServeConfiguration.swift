import LookoutCore
import LookoutEvents
import LookoutPipeline

/// `lookout serve --config FILE`: one YAML file for the whole service (docs/serve.md has an example).
///
/// ```yaml
/// model: Models/shapes-yolov8n.onnx    # default: the embedded model
/// device: auto                          # auto, cpu, cuda, cuda:N
/// decode: cpu                           # cpu, nvdec, auto
/// batch: 8
/// streams:
///   - {name: door, url: "rtsp://cam1/stream"}
///   - {name: demo, url: Models/sample.mp4, loop: true}
/// rules: rules.yaml                     # zones, lines, rules and sinks (docs/events.md)
/// store: lookout.db                     # SQLite event store
/// listen: {host: 127.0.0.1, port: 8080}
/// auth: {token_file: /etc/lookout/token}   # or token: ...
/// ```
///
/// Relative paths are relative to the file's folder. Every key is checked: an unknown one is an error naming it.
public struct ServeConfiguration: Sendable {
    public var model: String?
    public var device: String?
    public var decode: String?
    public var batch: Int?
    public var streams: [ServedStream] = []
    public var rules: String?
    public var store: String?
    public var host: String?
    public var port: Int?
    public var token: String?
    public var tokenFile: String?
    public var liveFramesPerSecond: Double?

    public init() {}

    public static func load(path: String) throws(LookoutError) -> ServeConfiguration {
        guard let text = FileBytes.readText(path) else {
            throw LookoutError(Paths.exists(path) ? .io : .notFound, "\(path): cannot read the configuration")
        }
        let root: YAMLNode?
        do { root = try YAMLNode.parse(text) } catch {
            throw LookoutError(.invalidArgument, "\(path): \(error) (not valid YAML)")
        }
        let folder = Paths.directory(of: Paths.absolute(path))
        func fail(_ node: YAMLNode?, _ key: String, _ reason: String) -> LookoutError {
            let place = node.map { "\($0.mark): " } ?? ""
            return LookoutError(.invalidArgument, "\(path): \(place)\(key): \(reason)")
        }
        func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : Paths.join(folder, file) }
        func string(_ node: YAMLNode, _ key: String) throws(LookoutError) -> String {
            guard case .scalar(let text, _, _) = node, !node.isNull else { throw fail(node, key, "must be a string") }
            return text
        }
        func int(_ node: YAMLNode, _ key: String) throws(LookoutError) -> Int {
            guard case .scalar(let text, false, _) = node, let n = Int(text) else {
                throw fail(node, key, "must be an integer")
            }
            return n
        }
        func bool(_ node: YAMLNode, _ key: String) throws(LookoutError) -> Bool {
            guard case .scalar(let text, false, _) = node, ["true", "false"].contains(text.lowercased()) else {
                throw fail(node, key, "must be true or false")
            }
            return text.lowercased() == "true"
        }
        func mapping(_ node: YAMLNode, _ key: String) throws(LookoutError) -> [(key: String, value: YAMLNode)] {
            guard case .mapping(let pairs, _) = node else { throw fail(node, key, "must be a mapping") }
            return pairs
        }
        var config = ServeConfiguration()
        guard let root else { return config }
        for (key, value) in try mapping(root, "the file") {
            switch key {
            case "model": config.model = resolve(try string(value, key))
            case "device": config.device = try string(value, key)
            case "decode": config.decode = try string(value, key)
            case "batch": config.batch = try int(value, key)
            case "rules": config.rules = resolve(try string(value, key))
            case "store": config.store = resolve(try string(value, key))
            case "live_fps":
                guard case .scalar(let text, false, _) = value, let d = Double(text), d > 0 else {
                    throw fail(value, key, "must be a positive number")
                }
                config.liveFramesPerSecond = d
            case "listen":
                for (k, v) in try mapping(value, key) {
                    switch k {
                    case "host": config.host = try string(v, "listen.host")
                    case "port": config.port = try int(v, "listen.port")
                    default: throw fail(v, "listen.\(k)", "unknown key (listen has host, port)")
                    }
                }
            case "auth":
                for (k, v) in try mapping(value, key) {
                    switch k {
                    case "token": config.token = try string(v, "auth.token")
                    case "token_file": config.tokenFile = resolve(try string(v, "auth.token_file"))
                    default: throw fail(v, "auth.\(k)", "unknown key (auth has token, token_file)")
                    }
                }
            case "streams":
                guard case .sequence(let items, _) = value else { throw fail(value, key, "must be a list") }
                for (i, item) in items.enumerated() {
                    let at = "streams[\(i)]"
                    var name: String?
                    var url: String?
                    var stream = ServedStream(name: "", url: "")
                    var live: Bool?
                    for (k, v) in try mapping(item, at) {
                        switch k {
                        case "name": name = try string(v, "\(at).name")
                        case "url": url = try string(v, "\(at).url")
                        case "loop": stream.loop = try bool(v, "\(at).loop")
                        case "live": live = try bool(v, "\(at).live")
                        default: throw fail(v, "\(at).\(k)", "unknown key (a stream has name, url, loop, live)")
                        }
                    }
                    guard let name, ServedStream.isValidName(name) else {
                        throw fail(item, "\(at).name", "needs 1-64 letters, digits, '_', '.' or '-'")
                    }
                    guard let url else { throw fail(item, "\(at).url", "is missing") }
                    let isFile = !StreamSource.liveSchemes.contains { url.lowercased().hasPrefix($0 + "://") }
                    stream.name = name
                    stream.url = isFile && !url.hasPrefix("synthetic:") ? resolve(url) : url
                    stream.paced = isFile && (live ?? false)
                    config.streams.append(stream)
                }
            default:
                throw fail(
                    value, key,
                    "unknown key (the file has model, device, decode, batch, streams, rules, store, listen, auth, live_fps)"
                )
            }
        }
        return config
    }
}
