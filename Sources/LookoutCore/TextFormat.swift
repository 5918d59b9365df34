/// Number formatting for tables, status lines and reports (the C `%.Nf` and `%Nd` of `String(format:)`, which
/// needs Foundation).
package enum TextFormat {
    /// `value` with exactly `digits` decimals, rounded half away from zero: fixed(2.345, digits: 2) = "2.35" (the
    /// nearest double may round the other way, as with printf). Non-finite values print as "nan", "inf", "-inf".
    package static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<max(0, digits) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e18 else { return String(value) }
        let whole = Int64(scaled)
        let integer = whole / Int64(scale)
        let fraction = whole % Int64(scale)
        var text = (value < 0 && whole != 0 ? "-" : "") + String(integer)
        if digits > 0 {
            let decimals = String(fraction)
            text += "." + String(repeating: "0", count: digits - decimals.count) + decimals
        }
        return text
    }

    /// `text` padded with spaces on the left to `width` characters (right-aligned).
    package static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// `text` padded with spaces on the right to `width` characters (left-aligned).
    package static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// An integer in `digits` hexadecimal digits, lowercase, zero-padded.
    package static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// A value `TextFormat.format` can print.
package protocol FormatArgument {
    var formatValue: TextFormat.Value { get }
}

extension TextFormat {
    /// What a `format` argument is.
    package enum Value {
        case integer(Int64)
        case real(Double)
        case text(String)
    }

    /// printf-style formatting for the conversions Lookout's tables and logs use: `%d %i %u %x` (integers), `%f`
    /// (fixed decimals), `%s %@` (text), `%%`, with the `-` (left-align) and `0` (zero-pad) flags, a width and a
    /// precision: `format("%8.3f ms  %-10@", 1.5, "conv")`.
    package static func format(_ template: String, _ arguments: any FormatArgument...) -> String {
        var out = ""
        var next = 0
        var chars = template.makeIterator()
        while let c = chars.next() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            var leftAlign = false
            var zeroPad = false
            var width = 0
            var precision: Int?
            var conversion: Character = "%"
            var readingPrecision = false
            while let d = chars.next() {
                if d == "-" && width == 0 && !readingPrecision {
                    leftAlign = true
                } else if d == "0" && width == 0 && !readingPrecision {
                    zeroPad = true
                } else if let digit = d.wholeNumberValue {
                    if readingPrecision {
                        precision = (precision ?? 0) * 10 + digit
                    } else {
                        width = width * 10 + digit
                    }
                } else if d == "." {
                    readingPrecision = true
                    precision = 0
                } else if d == "l" || d == "h" || d == "z" {
                    continue
                } else {
                    conversion = d
                    break
                }
            }
            if conversion == "%" {
                out.append("%")
                continue
            }
            let value = next < arguments.count ? arguments[next].formatValue : .text("")
            next += 1
            var text: String
            switch (conversion, value) {
            case ("f", .real(let x)), ("F", .real(let x)): text = fixed(x, digits: precision ?? 6)
            case ("f", .integer(let i)), ("F", .integer(let i)): text = fixed(Double(i), digits: precision ?? 6)
            case ("d", .integer(let i)), ("i", .integer(let i)), ("u", .integer(let i)): text = String(i)
            case ("d", .real(let x)), ("i", .real(let x)), ("u", .real(let x)): text = String(Int64(x))
            case ("x", .integer(let i)): text = String(UInt64(bitPattern: i), radix: 16)
            case (_, .text(let s)): text = precision.map { String(s.prefix($0)) } ?? s
            case (_, .integer(let i)): text = String(i)
            case (_, .real(let x)): text = String(x)
            }
            if text.count < width {
                let pad = width - text.count
                if leftAlign {
                    text += String(repeating: " ", count: pad)
                } else if zeroPad, case .text = value {
                    text = String(repeating: " ", count: pad) + text
                } else if zeroPad {
                    let negative = text.hasPrefix("-")
                    let digits = negative ? String(text.dropFirst()) : text
                    text = (negative ? "-" : "") + String(repeating: "0", count: pad) + digits
                } else {
                    text = String(repeating: " ", count: pad) + text
                }
            }
            out += text
        }
        return out
    }
}

extension Int: FormatArgument { package var formatValue: TextFormat.Value { .integer(Int64(self)) } }
extension Int32: FormatArgument { package var formatValue: TextFormat.Value { .integer(Int64(self)) } }
extension Int64: FormatArgument { package var formatValue: TextFormat.Value { .integer(self) } }
extension UInt32: FormatArgument { package var formatValue: TextFormat.Value { .integer(Int64(self)) } }
extension UInt64: FormatArgument { package var formatValue: TextFormat.Value { .integer(Int64(bitPattern: self)) } }
extension Double: FormatArgument { package var formatValue: TextFormat.Value { .real(self) } }
extension Float: FormatArgument { package var formatValue: TextFormat.Value { .real(Double(self)) } }
extension String: FormatArgument { package var formatValue: TextFormat.Value { .text(self) } }
extension Substring: FormatArgument { package var formatValue: TextFormat.Value { .text(String(self)) } }

extension String {
    /// The string cut or padded with spaces to exactly `length` characters (Foundation's
    /// `padding(toLength:withPad:startingAt:)` with a space).
    package func padded(toLength length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}
