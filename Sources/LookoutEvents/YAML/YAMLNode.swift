import CLookoutYAML
import LookoutCore

/// A parsed YAML document as a tree, each node with the line and column it starts at (1-based), so that a rule-file
/// error can name where it is. Aliases are resolved to their anchored node; tags are ignored.
package indirect enum YAMLNode: Sendable {
    case scalar(String, quoted: Bool, Mark)
    case sequence([YAMLNode], Mark)
    case mapping([(key: String, value: YAMLNode)], Mark)

    package struct Mark: Sendable, CustomStringConvertible {
        package var line: Int
        package var column: Int
        package var description: String { "line \(line), column \(column)" }
    }

    package var mark: Mark {
        switch self {
        case .scalar(_, _, let m), .sequence(_, let m), .mapping(_, let m): m
        }
    }

    /// A plain scalar that YAML 1.1 reads as null (`~`, `null`, empty).
    package var isNull: Bool {
        if case .scalar(let text, false, _) = self { return text.isEmpty || text == "~" || text.lowercased() == "null" }
        return false
    }

    /// The first document of `text`, or nil for an empty stream. Throws `YAMLError` with libyaml's reason and
    /// position.
    package static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLError(message: "out of memory", mark: nil) }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    throw YAMLError(
                        message: context + problem,
                        mark: Mark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
                    )
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.take(&event)
                if builder.done { break }
            }
            return builder.root
        }
    }

    /// Folds libyaml's events into nodes: containers open on a stack and close into their parent.
    private struct Builder {
        enum Open {
            case sequence([YAMLNode], Mark, anchor: String?)
            case mapping([(key: String, value: YAMLNode)], pendingKey: (String, Mark)?, Mark, anchor: String?)
        }
        var stack: [Open] = []
        var anchors: [String: YAMLNode] = [:]
        var root: YAMLNode?
        var done = false

        static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?, _ length: Int) -> String {
            guard let pointer else { return "" }
            return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
        }

        static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            guard let pointer else { return nil }
            return String(cString: pointer)
        }

        mutating func take(_ event: inout yaml_event_t) throws(YAMLError) {
            let mark = Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let node = YAMLNode.scalar(
                    Self.text(scalar.value, Int(scalar.length)), quoted: scalar.style != YAML_PLAIN_SCALAR_STYLE,
                    mark)
                if let anchor = Self.string(scalar.anchor) { anchors[anchor] = node }
                try add(node)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let node = anchors[name] else {
                    throw YAMLError(message: "unknown alias '*\(name)'", mark: mark)
                }
                try add(node)
            case YAML_SEQUENCE_START_EVENT:
                stack.append(.sequence([], mark, anchor: Self.string(event.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                stack.append(.mapping([], pendingKey: nil, mark, anchor: Self.string(event.data.mapping_start.anchor)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let open = stack.popLast() else { return }
                let node: YAMLNode
                let anchor: String?
                switch open {
                case .sequence(let items, let m, let a):
                    node = .sequence(items, m)
                    anchor = a
                case .mapping(let pairs, _, let m, let a):
                    node = .mapping(pairs, m)
                    anchor = a
                }
                if let anchor { anchors[anchor] = node }
                try add(node)
            case YAML_DOCUMENT_END_EVENT:
                done = root != nil
            default:
                break
            }
        }

        mutating func add(_ node: YAMLNode) throws(YAMLError) {
            guard let top = stack.popLast() else {
                root = node
                return
            }
            switch top {
            case .sequence(var items, let m, let a):
                items.append(node)
                stack.append(.sequence(items, m, anchor: a))
            case .mapping(var pairs, let pending, let m, let a):
                if let (key, keyMark) = pending {
                    if pairs.contains(where: { $0.key == key }) {
                        throw YAMLError(message: "duplicate key '\(key)'", mark: keyMark)
                    }
                    pairs.append((key, node))
                    stack.append(.mapping(pairs, pendingKey: nil, m, anchor: a))
                } else {
                    guard case .scalar(let key, _, let keyMark) = node else {
                        throw YAMLError(message: "a mapping key must be a plain value", mark: node.mark)
                    }
                    stack.append(.mapping(pairs, pendingKey: (key, keyMark), m, anchor: a))
                }
            }
        }
    }
}

/// libyaml's reason a text is not YAML, and where.
package struct YAMLError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var mark: YAMLNode.Mark?
    package var description: String { mark.map { "\($0): \(message)" } ?? message }
}
