import LookoutCore
import Testing

@testable import LookoutEvents

@Suite struct RuleFileTests {
    static let names = ["circle", "square", "triangle", "star"]

    static let example = """
        coordinates: normalized
        zones:
          - name: dock
            polygon: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]]
        lines:
          - {name: gate, from: [0.5, 0.0], to: [0.5, 1.0]}
        sinks:
          - {name: hook, type: webhook, url: "http://127.0.0.1:9000/events", snapshot: inline}
          - {name: file, type: jsonl, path: events.jsonl}
        rules:
          - name: star-in-dock
            trigger: enter
            zone: dock
            classes: [star, circle]
            min_confidence: 0.5
            cooldown: 5
            sinks: [hook]
          - {name: loiter, trigger: dwell, zone: dock, seconds: 3}
          - {name: eastbound, trigger: cross, line: gate, direction: right-to-left}
          - {name: crowd, trigger: count, zone: dock, count: 3, point: center}
        """

    @Test func readsEveryPart() throws {
        let set = try RuleSet.parse(Self.example, source: "rules.yaml", classNames: Self.names)
        #expect(set.zones.map(\.name) == ["dock"])
        #expect(set.lines.first?.to == Point2(0.5, 1.0))
        #expect(set.rules.count == 4)
        #expect(set.rules[0].classes == [3, 0])
        #expect(set.rules[0].sinks == ["hook"])
        #expect(set.rules[1].trigger == .dwell(zone: "dock", seconds: 3))
        #expect(set.rules[2].trigger == .cross(line: "gate", direction: .rightToLeft))
        #expect(set.rules[3].anchor == .center)
        #expect(set.sinks.map(\.name) == ["hook", "file"])
    }

    /// Each bad file fails in one line naming the file, the place and the reason.
    @Test(arguments: [
        ("zones: [\n  - name: a\n", "rules.yaml: line", "not valid YAML"),
        (
            "zones:\n  - {name: a, polygon: [[0,0],[1,0],[1,1],[0,1]]}\nrules:\n  - {name: r, trigger: enter, zone: a, classes: [dog]}\n",
            "rules[0].classes[0]", "unknown class 'dog' (the model's classes: circle, square, triangle, star)"
        ),
        (
            "zones:\n  - {name: bow, polygon: [[0,0],[1,1],[1,0],[0,1]]}\nrules:\n  - {name: r, trigger: enter, zone: bow}\n",
            "zones[0].polygon", "zone 'bow' intersects itself"
        ),
        (
            "zones:\n  - {name: a, polygon: [[0,0],[1,0],[1,1]]}\nrules:\n  - {name: r, trigger: entr, zone: a}\n",
            "rules[0].trigger", "unknown trigger 'entr'"
        ),
        (
            "zones:\n  - {name: a, polygon: [[0,0],[1,0],[1,1]], colour: red}\nrules: []\n", "zones[0].colour",
            "unknown key 'colour'"
        ),
        ("rules:\n  - {name: r, trigger: enter, zone: nowhere}\n", "rules[0].zone", "no zone named 'nowhere'"),
        (
            "zones:\n  - {name: a, polygon: [[0,0],[2,0],[1,1]]}\nrules: []\n", "zones[0].polygon[1]",
            "normalized coordinates are between 0 and 1"
        ),
        (
            "sinks:\n  - {name: h, type: webhook, url: \"https://x/y\"}\nrules: []\n", "sinks[0].url",
            "https is not supported"
        ),
    ])
    func badFilesFailInOneLine(_ text: String, _ place: String, _ reason: String) {
        #expect {
            _ = try RuleSet.parse(text, source: "rules.yaml", classNames: Self.names)
        } throws: { error in
            let message = (error as? LookoutError)?.message ?? ""
            return message.hasPrefix("rules.yaml: ") && message.contains(place) && message.contains(reason)
                && !message.contains("\n")
        }
    }

    @Test func missingFileNamesIt() {
        #expect {
            _ = try RuleSet.load(path: "/nonexistent/rules.yaml", classNames: Self.names)
        } throws: { error in
            (error as? LookoutError)?.message == "/nonexistent/rules.yaml: cannot read the rule file"
        }
    }

    @Test func polygonsKnowWhatIsInside() {
        let square = Polygon([Point2(0, 0), Point2(10, 0), Point2(10, 10), Point2(0, 10)])
        #expect(square.contains(Point2(5, 5)))
        #expect(!square.contains(Point2(15, 5)))
        #expect(square.firstSelfIntersection == nil)
        #expect(Polygon([Point2(0, 0), Point2(10, 10), Point2(10, 0), Point2(0, 10)]).firstSelfIntersection != nil)
    }
}
