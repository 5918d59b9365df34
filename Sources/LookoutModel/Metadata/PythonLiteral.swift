/// The Python literals Ultralytics writes into ONNX metadata with `str(value)`: dicts, lists, tuples, strings,
/// numbers, booleans and None. Enough of `ast.literal_eval` to read `names`, `imgsz` and `args`.
package indirect enum PythonLiteral: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([PythonLiteral])
    case dict([(PythonLiteral, PythonLiteral)])

    package static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
        switch (a, b) {
        case (.none, .none): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.float(let x), .float(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.list(let x), .list(let y)): x == y
        case (.dict(let x), .dict(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    package struct ParseError: Error, CustomStringConvertible {
        package var description: String
    }

    package static func parse(_ text: String) throws(ParseError) -> PythonLiteral {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.scalars.count else {
            throw ParseError(description: "unexpected text after the value")
        }
        return value
    }

    package var intValue: Int? {
        switch self {
        case .int(let i): i
        case .bool(let b): b ? 1 : 0
        case .float(let f): f == f.rounded() && abs(f) < 1e15 ? Int(f) : nil
        default: nil
        }
    }

    package var boolValue: Bool? {
        switch self {
        case .bool(let b): b
        case .int(let i): i != 0
        default: nil
        }
    }

    package subscript(key: String) -> PythonLiteral? {
        guard case .dict(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .string(key) }?.1
    }

    struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func skipSpace() {
            while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
        }

        mutating func value(depth: Int) throws(ParseError) -> PythonLiteral {
            guard depth < 64 else { throw ParseError(description: "nesting too deep") }
            skipSpace()
            guard index < scalars.count else { throw ParseError(description: "unexpected end") }
            let c = scalars[index]
            switch c {
            case "{":
                index += 1
                var pairs: [(PythonLiteral, PythonLiteral)] = []
                while true {
                    skipSpace()
                    if index < scalars.count, scalars[index] == "}" {
                        index += 1
                        return .dict(pairs)
                    }
                    let key = try value(depth: depth + 1)
                    skipSpace()
                    guard index < scalars.count, scalars[index] == ":" else {
                        throw ParseError(description: "expected ':'")
                    }
                    index += 1
                    pairs.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if index < scalars.count, scalars[index] == "," {
                        index += 1
                    } else if index < scalars.count, scalars[index] == "}" {
                        continue
                    } else {
                        throw ParseError(description: "expected ',' or '}'")
                    }
                }
            case "[", "(":
                let close: Unicode.Scalar = c == "[" ? "]" : ")"
                index += 1
                var items: [PythonLiteral] = []
                while true {
                    skipSpace()
                    if index < scalars.count, scalars[index] == close {
                        index += 1
                        return .list(items)
                    }
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if index < scalars.count, scalars[index] == "," {
                        index += 1
                    } else if index < scalars.count, scalars[index] == close {
                        continue
                    } else {
                        throw ParseError(description: "expected ',' or '\(close)'")
                    }
                }
            case "'", "\"":
                index += 1
                var out = String.UnicodeScalarView()
                while index < scalars.count, scalars[index] != c {
                    if scalars[index] == "\\", index + 1 < scalars.count {
                        index += 1
                        switch scalars[index] {
                        case "n": out.append("\n")
                        case "t": out.append("\t")
                        default: out.append(scalars[index])
                        }
                    } else {
                        out.append(scalars[index])
                    }
                    index += 1
                }
                guard index < scalars.count else { throw ParseError(description: "unterminated string") }
                index += 1
                return .string(String(out))
            default:
                var token = ""
                while index < scalars.count, !",:]})".unicodeScalars.contains(scalars[index]),
                    !scalars[index].properties.isWhitespace
                {
                    token.unicodeScalars.append(scalars[index])
                    index += 1
                }
                switch token {
                case "None": return .none
                case "True": return .bool(true)
                case "False": return .bool(false)
                default:
                    if let i = Int(token) { return .int(i) }
                    if let d = Double(token) { return .float(d) }
                    throw ParseError(description: "cannot read '\(token)'")
                }
            }
        }
    }
}
