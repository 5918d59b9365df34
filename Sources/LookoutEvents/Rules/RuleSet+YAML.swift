import LookoutCore

extension RuleSet {
    /// Reads a rule file (docs/events.md has the format). `classNames` are the model's: rules name classes by name.
    /// Any problem is one `LookoutError` (parameter `rules`) naming the file, the line, the key and the reason.
    public static func load(path: String, classNames: [String]) throws(LookoutError) -> RuleSet {
        guard let text = FileBytes.readText(path) else {
            throw LookoutError(
                Paths.exists(path) ? .io : .notFound, "\(path): cannot read the rule file", parameter: "rules")
        }
        return try parse(text, source: path, classNames: classNames)
    }

    /// Parses rule-file text; `source` names it in messages.
    public static func parse(_ text: String, source: String, classNames: [String]) throws(LookoutError) -> RuleSet {
        let root: YAMLNode?
        do { root = try YAMLNode.parse(text) } catch {
            throw LookoutError(.invalidArgument, "\(source): \(error) (not valid YAML)", parameter: "rules")
        }
        var reader = RuleFileReader(source: source, classNames: classNames)
        do { return try reader.read(root) } catch { throw error.lookoutError }
    }
}

/// A rule-file problem at a key path.
struct RuleFileError: Error {
    var source: String
    var path: String
    var mark: YAMLNode.Mark?
    var reason: String

    var lookoutError: LookoutError {
        let place = mark.map { "\($0): " } ?? ""
        let key = path.isEmpty ? "" : "\(path): "
        return LookoutError(.invalidArgument, "\(source): \(place)\(key)\(reason)", parameter: "rules")
    }
}

/// Walks the YAML tree into a `RuleSet`, checking every key.
struct RuleFileReader {
    let source: String
    let classNames: [String]

    func fail(_ path: String, _ node: YAMLNode?, _ reason: String) -> RuleFileError {
        RuleFileError(source: source, path: path, mark: node?.mark, reason: reason)
    }

    mutating func read(_ root: YAMLNode?) throws(RuleFileError) -> RuleSet {
        var set = RuleSet()
        set.source = source
        guard let root else { throw fail("", nil, "the file is empty") }
        let top = try mapping(root, "", allowed: ["coordinates", "inertia", "zones", "lines", "rules", "sinks"])
        let coordinates =
            try top["coordinates"].map { (n) throws(RuleFileError) in
                try choice(n, "coordinates", CoordinateSpace.self)
            } ?? .normalized
        if let node = top["inertia"] {
            let frames = try number(node, "inertia")
            guard frames >= 1, frames == frames.rounded(), frames <= 1000 else {
                throw fail("inertia", node, "must be a whole number of frames from 1 to 1000")
            }
            set.inertia = Int(frames)
        }
        if let zones = top["zones"] {
            for (i, node) in try sequence(zones, "zones").enumerated() {
                set.zones.append(try zone(node, "zones[\(i)]", coordinates))
            }
        }
        if let lines = top["lines"] {
            for (i, node) in try sequence(lines, "lines").enumerated() {
                set.lines.append(try line(node, "lines[\(i)]", coordinates))
            }
        }
        if let sinks = top["sinks"] {
            for (i, node) in try sequence(sinks, "sinks").enumerated() {
                set.sinks.append(try sink(node, "sinks[\(i)]"))
            }
        }
        for duplicate in duplicates(set.zones.map(\.name) + set.lines.map(\.name)) {
            throw fail("", root, "the name '\(duplicate)' is used twice (zones and lines need distinct names)")
        }
        for duplicate in duplicates(set.sinks.map(\.name)) {
            throw fail("sinks", top["sinks"], "two sinks named '\(duplicate)'")
        }
        guard let rules = top["rules"] else {
            throw fail("rules", root, "missing: a rule file needs at least one rule")
        }
        for (i, node) in try sequence(rules, "rules").enumerated() {
            set.rules.append(try rule(node, "rules[\(i)]", set))
        }
        for duplicate in duplicates(set.rules.map(\.name)) {
            throw fail("rules", rules, "two rules named '\(duplicate)'")
        }
        return set
    }

    func duplicates(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { !seen.insert($0).inserted }
    }

    // MARK: Parts

    func zone(_ node: YAMLNode, _ path: String, _ coordinates: CoordinateSpace) throws(RuleFileError) -> Zone {
        let m = try mapping(node, path, allowed: ["name", "polygon", "coordinates", "streams"])
        let name = try requiredString(m, "name", path, node)
        let space =
            try m["coordinates"].map { (n) throws(RuleFileError) in
                try choice(n, "\(path).coordinates", CoordinateSpace.self)
            } ?? coordinates
        guard let polygonNode = m["polygon"] else { throw fail("\(path).polygon", node, "missing") }
        let points = try pointList(polygonNode, "\(path).polygon", space)
        guard points.count >= 3 else {
            throw fail("\(path).polygon", polygonNode, "a zone needs at least 3 points (got \(points.count))")
        }
        let polygon = Polygon(points)
        if let (a, b) = polygon.firstSelfIntersection {
            throw fail(
                "\(path).polygon", polygonNode,
                "zone '\(name)' intersects itself (edge \(a) from point \(a) and edge \(b) from point \(b) cross); list the points in order around the zone"
            )
        }
        guard polygon.area > 0 else { throw fail("\(path).polygon", polygonNode, "zone '\(name)' has no area") }
        return Zone(
            name: name, polygon: polygon, coordinates: space, streams: try streams(m["streams"], "\(path).streams"))
    }

    func line(_ node: YAMLNode, _ path: String, _ coordinates: CoordinateSpace) throws(RuleFileError) -> CountingLine {
        let m = try mapping(node, path, allowed: ["name", "from", "to", "coordinates", "streams"])
        let name = try requiredString(m, "name", path, node)
        let space =
            try m["coordinates"].map { (n) throws(RuleFileError) in
                try choice(n, "\(path).coordinates", CoordinateSpace.self)
            } ?? coordinates
        guard let fromNode = m["from"] else { throw fail("\(path).from", node, "missing") }
        guard let toNode = m["to"] else { throw fail("\(path).to", node, "missing") }
        let from = try point(fromNode, "\(path).from", space)
        let to = try point(toNode, "\(path).to", space)
        guard from != to else { throw fail(path, node, "line '\(name)' has the same start and end") }
        return CountingLine(
            name: name, from: from, to: to, coordinates: space, streams: try streams(m["streams"], "\(path).streams"))
    }

    func rule(_ node: YAMLNode, _ path: String, _ set: RuleSet) throws(RuleFileError) -> Rule {
        let m = try mapping(
            node, path,
            allowed: [
                "name", "trigger", "zone", "line", "seconds", "count", "direction", "classes", "min_confidence",
                "min_area", "point", "cooldown", "sinks", "streams",
            ])
        let name = try requiredString(m, "name", path, node)
        guard let triggerNode = m["trigger"] else {
            throw fail("\(path).trigger", node, "missing (one of enter, leave, dwell, cross, count)")
        }
        let triggerName = try string(triggerNode, "\(path).trigger")
        func zoneName() throws(RuleFileError) -> String {
            guard let z = m["zone"] else {
                throw fail("\(path).zone", node, "missing: a '\(triggerName)' rule names a zone")
            }
            let zone = try string(z, "\(path).zone")
            guard set.zones.contains(where: { $0.name == zone }) else {
                throw fail("\(path).zone", z, "no zone named '\(zone)' (zones: \(list(set.zones.map(\.name))))")
            }
            return zone
        }
        let trigger: Trigger
        switch triggerName {
        case "enter": trigger = .enter(zone: try zoneName())
        case "leave": trigger = .leave(zone: try zoneName())
        case "dwell":
            guard let s = m["seconds"] else {
                throw fail("\(path).seconds", node, "missing: a dwell rule needs seconds")
            }
            let seconds = try number(s, "\(path).seconds")
            guard seconds > 0 else { throw fail("\(path).seconds", s, "must be positive") }
            trigger = .dwell(zone: try zoneName(), seconds: seconds)
        case "count":
            guard let c = m["count"] else { throw fail("\(path).count", node, "missing: a count rule needs count") }
            let count = try number(c, "\(path).count")
            guard count >= 1, count == count.rounded() else {
                throw fail("\(path).count", c, "must be a whole number ≥ 1")
            }
            trigger = .count(zone: try zoneName(), atLeast: Int(count))
        case "cross":
            guard let l = m["line"] else { throw fail("\(path).line", node, "missing: a cross rule names a line") }
            let lineName = try string(l, "\(path).line")
            guard set.lines.contains(where: { $0.name == lineName }) else {
                throw fail("\(path).line", l, "no line named '\(lineName)' (lines: \(list(set.lines.map(\.name))))")
            }
            let direction =
                try m["direction"].map { (n) throws(RuleFileError) in
                    try choice(n, "\(path).direction", CrossingDirection.self)
                } ?? .any
            trigger = .cross(line: lineName, direction: direction)
        default:
            throw fail(
                "\(path).trigger", triggerNode,
                "unknown trigger '\(triggerName)' (expected enter, leave, dwell, cross, count)")
        }
        var rule = Rule(name: name, trigger: trigger)
        if let c = m["classes"] {
            var indices = Set<Int>()
            for (i, item) in try sequence(c, "\(path).classes").enumerated() {
                let className = try string(item, "\(path).classes[\(i)]")
                if let index = classNames.firstIndex(of: className) {
                    indices.insert(index)
                } else if let index = Int(className), classNames.indices.contains(index) {
                    indices.insert(index)
                } else {
                    throw fail(
                        "\(path).classes[\(i)]", item,
                        "unknown class '\(className)' (the model's classes: \(list(classNames)))")
                }
            }
            rule.classes = indices
        }
        if let c = m["min_confidence"] {
            let value = try number(c, "\(path).min_confidence")
            guard (0...1).contains(value) else { throw fail("\(path).min_confidence", c, "must be between 0 and 1") }
            rule.minConfidence = Float(value)
        }
        if let a = m["min_area"] {
            rule.minArea = try number(a, "\(path).min_area")
            guard rule.minArea >= 0 else { throw fail("\(path).min_area", a, "must not be negative") }
        }
        if let p = m["point"] { rule.anchor = try choice(p, "\(path).point", AnchorPoint.self) }
        if let c = m["cooldown"] {
            rule.cooldown = try number(c, "\(path).cooldown")
            guard rule.cooldown >= 0 else { throw fail("\(path).cooldown", c, "must not be negative") }
        }
        if let s = m["sinks"] {
            var names: [String] = []
            for (i, item) in try sequence(s, "\(path).sinks").enumerated() {
                let sinkName = try string(item, "\(path).sinks[\(i)]")
                guard set.sinks.contains(where: { $0.name == sinkName }) else {
                    throw fail(
                        "\(path).sinks[\(i)]", item,
                        "no sink named '\(sinkName)' (sinks: \(list(set.sinks.map(\.name))))")
                }
                names.append(sinkName)
            }
            rule.sinks = names
        }
        rule.streams = try streams(m["streams"], "\(path).streams")
        return rule
    }

    func sink(_ node: YAMLNode, _ path: String) throws(RuleFileError) -> SinkConfiguration {
        let m = try mapping(
            node, path,
            allowed: [
                "name", "type", "url", "path", "snapshot", "snapshot_base_url", "headers", "timeout", "backoff",
                "max_backoff",
            ])
        let name = try requiredString(m, "name", path, node)
        guard let typeNode = m["type"] else { throw fail("\(path).type", node, "missing (webhook or jsonl)") }
        switch try string(typeNode, "\(path).type") {
        case "webhook":
            guard let u = m["url"] else { throw fail("\(path).url", node, "missing: a webhook needs a url") }
            let url = try string(u, "\(path).url")
            do { _ = try HTTPURL(parsing: url) } catch { throw fail("\(path).url", u, error.message) }
            var hook = WebhookConfiguration(name: name, url: url)
            if let s = m["snapshot"] {
                hook.snapshot = try choice(s, "\(path).snapshot", WebhookConfiguration.Snapshot.self)
            }
            if let b = m["snapshot_base_url"] { hook.snapshotBaseURL = try string(b, "\(path).snapshot_base_url") }
            if hook.snapshot == .url && hook.snapshotBaseURL == nil {
                throw fail(
                    "\(path).snapshot_base_url", node,
                    "missing: snapshot 'url' needs the base URL snapshots are served from")
            }
            if let h = m["headers"] {
                guard case .mapping(let pairs, _) = h else { throw fail("\(path).headers", h, "must be a mapping") }
                for (key, value) in pairs { hook.headers[key] = try string(value, "\(path).headers.\(key)") }
            }
            if let t = m["timeout"] {
                hook.timeout = try number(t, "\(path).timeout")
                guard hook.timeout > 0 else { throw fail("\(path).timeout", t, "must be positive") }
            }
            if let b = m["backoff"] {
                hook.initialBackoff = try number(b, "\(path).backoff")
                guard hook.initialBackoff > 0 else { throw fail("\(path).backoff", b, "must be positive") }
            }
            if let b = m["max_backoff"] {
                hook.maxBackoff = try number(b, "\(path).max_backoff")
                guard hook.maxBackoff >= hook.initialBackoff else {
                    throw fail("\(path).max_backoff", b, "must be at least backoff (\(hook.initialBackoff))")
                }
            }
            return .webhook(hook)
        case "jsonl":
            guard let p = m["path"] else { throw fail("\(path).path", node, "missing: a jsonl sink needs a path") }
            return .jsonLines(name: name, path: try string(p, "\(path).path"))
        case let other:
            throw fail("\(path).type", typeNode, "unknown sink type '\(other)' (expected webhook or jsonl)")
        }
    }

    // MARK: Values

    func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }

    func mapping(_ node: YAMLNode, _ path: String, allowed: [String]) throws(RuleFileError) -> [String: YAMLNode] {
        guard case .mapping(let pairs, _) = node else {
            throw fail(path, node, "must be a mapping (key: value lines)")
        }
        var out: [String: YAMLNode] = [:]
        for (key, value) in pairs {
            guard allowed.contains(key) else {
                let at = path.isEmpty ? key : "\(path).\(key)"
                throw fail(at, value, "unknown key '\(key)' (expected \(allowed.joined(separator: ", ")))")
            }
            out[key] = value
        }
        return out
    }

    func sequence(_ node: YAMLNode, _ path: String) throws(RuleFileError) -> [YAMLNode] {
        guard case .sequence(let items, _) = node else { throw fail(path, node, "must be a list") }
        return items
    }

    func string(_ node: YAMLNode, _ path: String) throws(RuleFileError) -> String {
        guard case .scalar(let text, _, _) = node, !node.isNull else { throw fail(path, node, "must be a text value") }
        return text
    }

    func requiredString(_ m: [String: YAMLNode], _ key: String, _ path: String, _ node: YAMLNode) throws(RuleFileError)
        -> String
    {
        guard let value = m[key] else { throw fail("\(path).\(key)", node, "missing") }
        let text = try string(value, "\(path).\(key)")
        guard !text.isEmpty else { throw fail("\(path).\(key)", value, "must not be empty") }
        return text
    }

    func number(_ node: YAMLNode, _ path: String) throws(RuleFileError) -> Double {
        guard case .scalar(let text, false, _) = node, let value = Double(text), value.isFinite else {
            throw fail(path, node, "must be a number")
        }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, _ type: T.Type)
        throws(RuleFileError) -> T where T.RawValue == String
    {
        let text = try string(node, path)
        guard let value = T(rawValue: text) else {
            let options = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail(path, node, "unknown value '\(text)' (expected \(options))")
        }
        return value
    }

    func point(_ node: YAMLNode, _ path: String, _ space: CoordinateSpace) throws(RuleFileError) -> Point2 {
        let items = try sequence(node, path)
        guard items.count == 2 else { throw fail(path, node, "a point is [x, y]") }
        let x = try number(items[0], path)
        let y = try number(items[1], path)
        if space == .normalized && !((0...1).contains(x) && (0...1).contains(y)) {
            throw fail(
                path, node,
                "normalized coordinates are between 0 and 1 (got [\(x), \(y)]); set coordinates: pixels for pixels")
        }
        if space == .pixels && (x < 0 || y < 0) { throw fail(path, node, "pixel coordinates must not be negative") }
        return Point2(x, y)
    }

    func pointList(_ node: YAMLNode, _ path: String, _ space: CoordinateSpace) throws(RuleFileError) -> [Point2] {
        var points: [Point2] = []
        for (i, item) in try sequence(node, path).enumerated() {
            points.append(try point(item, "\(path)[\(i)]", space))
        }
        return points
    }

    func streams(_ node: YAMLNode?, _ path: String) throws(RuleFileError) -> StreamSelection {
        guard let node else { return .all }
        var indices = Set<Int>()
        var names = Set<String>()
        for (i, item) in try sequence(node, path).enumerated() {
            let text = try string(item, "\(path)[\(i)]")
            if case .scalar(_, false, _) = item, let index = Int(text) {
                indices.insert(index)
            } else {
                names.insert(text)
            }
        }
        return .some(indices: indices, names: names)
    }
}
