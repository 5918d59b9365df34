import LookoutCore
import LookoutEvents

/// The rules in force as the API shows them, and a zone drawn on the page turned into a zone and its rule.
enum RulesJSON {
    static func describe(_ set: RuleSet?) -> JSONValue {
        let set = set ?? RuleSet()
        func point(_ p: Point2) -> JSONValue {
            .array([JSONValue.rounded(p.x, digits: 4), JSONValue.rounded(p.y, digits: 4)])
        }
        func streams(_ s: StreamSelection) -> JSONValue {
            guard case .some(let indices, let names) = s else { return .null }
            return .array((names.sorted() + indices.sorted().map(String.init)).map { .string($0) })
        }
        return .object([
            (
                "zones",
                .array(
                    set.zones.map {
                        .object([
                            ("name", .string($0.name)), ("points", .array($0.polygon.vertices.map(point))),
                            ("streams", streams($0.streams)),
                        ])
                    })
            ),
            (
                "lines",
                .array(
                    set.lines.map {
                        .object([("name", .string($0.name)), ("from", point($0.from)), ("to", point($0.to))])
                    })
            ),
            (
                "rules",
                .array(
                    set.rules.map {
                        .object([
                            ("name", .string($0.name)), ("trigger", .string($0.trigger.name)),
                            ("zone", $0.trigger.zone.map { .string($0) } ?? .null),
                            ("line", $0.trigger.line.map { .string($0) } ?? .null),
                        ])
                    })
            ),
        ])
    }

    /// `set` with the zone of the request body (`name`, `points`, and optionally `stream`, `trigger`, `seconds`,
    /// `at_least`, `classes`) and a rule of the same name on it; returns the new set and what was added (as JSON).
    static func adding(zone fields: [(String, JSONValue)], to set: RuleSet?, classNames: [String]) throws(ServeError)
        -> (RuleSet, JSONValue)
    {
        var name: String?
        var stream: String?
        var points: [Point2] = []
        var trigger = "enter"
        var seconds: Double?
        var atLeast: Int?
        var classes: Set<Int>?
        for (key, value) in fields {
            switch key {
            case "name":
                guard case .string(let s) = value else { throw ServeError(400, "'name' must be a string") }
                name = s
            case "stream":
                guard case .string(let s) = value else { throw ServeError(400, "'stream' must be a string") }
                stream = s
            case "points":
                guard case .array(let list) = value, (3...64).contains(list.count) else {
                    throw ServeError(400, "'points' must be 3 to 64 [x, y] pairs")
                }
                for item in list {
                    guard let pair = item.doubleArray, pair.count == 2, pair.allSatisfy({ (0...1).contains($0) })
                    else { throw ServeError(400, "each point must be [x, y] with x and y from 0 to 1") }
                    points.append(Point2(pair[0], pair[1]))
                }
            case "trigger":
                guard case .string(let s) = value, ["enter", "leave", "dwell", "count"].contains(s) else {
                    throw ServeError(400, "'trigger' must be enter, leave, dwell or count")
                }
                trigger = s
            case "seconds":
                guard let d = value.doubleValue, d >= 0, d.isFinite else {
                    throw ServeError(400, "'seconds' must be a number of at least 0")
                }
                seconds = d
            case "at_least":
                guard case .int(let n) = value, n >= 1 else {
                    throw ServeError(400, "'at_least' must be an integer of at least 1")
                }
                atLeast = n
            case "classes":
                guard case .array(let list) = value else {
                    throw ServeError(400, "'classes' must be a list of class names")
                }
                var set = Set<Int>()
                for item in list {
                    guard case .string(let s) = item, let index = classNames.firstIndex(of: s) else {
                        throw ServeError(
                            400,
                            "'classes': unknown class \(item.render(pretty: false)) (classes: \(classNames.joined(separator: ", ")))"
                        )
                    }
                    set.insert(index)
                }
                classes = set
            default:
                throw ServeError(
                    400, "unknown field '\(key)' (a zone has name, stream, points, trigger, seconds, at_least, classes)"
                )
            }
        }
        guard let name else { throw ServeError(400, "a zone needs a 'name'") }
        guard ServedStream.isValidName(name) else {
            throw ServeError(
                400,
                "zone name '\(name)' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
        }
        guard !points.isEmpty else { throw ServeError(400, "a zone needs 'points'") }
        var set = set ?? RuleSet()
        guard !set.zones.contains(where: { $0.name == name }) else {
            throw ServeError(409, "a zone named '\(name)' already exists")
        }
        guard !set.rules.contains(where: { $0.name == name }) else {
            throw ServeError(409, "a rule named '\(name)' already exists")
        }
        let streams: StreamSelection = stream.map { .some(indices: [], names: [$0]) } ?? .all
        let triggerValue: Trigger
        switch trigger {
        case "leave": triggerValue = .leave(zone: name)
        case "dwell": triggerValue = .dwell(zone: name, seconds: seconds ?? 5)
        case "count": triggerValue = .count(zone: name, atLeast: atLeast ?? 1)
        default: triggerValue = .enter(zone: name)
        }
        set.zones.append(Zone(name: name, polygon: Polygon(points), coordinates: .normalized, streams: streams))
        set.rules.append(Rule(name: name, trigger: triggerValue, classes: classes, streams: streams))
        let added = describe(
            {
                var only = RuleSet()
                only.zones = [set.zones.last!]
                only.rules = [set.rules.last!]
                return only
            }())
        guard case .object(let parts) = added, case .array(let zones) = parts[0].1, case .array(let rules) = parts[2].1
        else { return (set, added) }
        return (set, .object([("zone", zones[0]), ("rule", rules[0])]))
    }
}
