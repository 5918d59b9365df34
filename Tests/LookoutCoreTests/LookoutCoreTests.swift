import Testing

@testable import LookoutCore

@Suite struct JSONValueTests {
    @Test func rendersOrderedCompactJSON() {
        let value = JSONValue.object([
            ("b", .int(1)), ("a", .array([.double(0.5), .string("x\"y"), .null, .bool(true)])),
        ])
        #expect(value.render(pretty: false) == #"{"b":1,"a":[0.5,"x\"y",null,true]}"#)
    }

    @Test func integralDoublesPrintWithoutFraction() {
        #expect(JSONValue.format(3.0) == "3")
        #expect(JSONValue.format(.infinity) == "null")
        #expect(JSONValue.rounded(1.23456, digits: 2) == .double(1.23))
    }
}
