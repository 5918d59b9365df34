#if canImport(Glibc)
    import Glibc
#endif

extension TextFormat {
    /// `value` through the C library's printf with one floating-point conversion (`"%g"`, `"%.2f"`): the exact text
    /// Python's `%`-formatting and f-strings give for a float (both round the binary value correctly, half to even),
    /// which `fixed` does not promise. `spec` must hold exactly one `%…f`, `%…e` or `%…g` conversion.
    package static func c(_ spec: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let written = withVaList([value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, spec, arguments) }
        }
        guard written >= 0 else { return String(value) }
        if Int(written) >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(written) + 1)
            _ = withVaList([value]) { arguments in
                buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, spec, arguments) }
            }
        }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
