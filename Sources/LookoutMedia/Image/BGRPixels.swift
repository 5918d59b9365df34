/// A borrowed view of BGR8 pixels whose rows may be padded (`rowBytes >= width * 3`): what resizing and
/// letterboxing read from, whether the pixels live in a `BGRImage` or in a pooled frame buffer.
///
/// The view does not own the memory: use it only inside the scope that lends the pointer.
public struct BGRPixels {
    public let base: UnsafePointer<UInt8>
    public let width: Int
    public let height: Int
    public let rowBytes: Int

    /// A view over `height` rows of `rowBytes` bytes each, of which the first `width * 3` are pixels.
    public init(base: UnsafePointer<UInt8>, width: Int, height: Int, rowBytes: Int) {
        precondition(width > 0 && height > 0 && rowBytes >= width * 3, "invalid pixel view geometry")
        self.base = base
        self.width = width
        self.height = height
        self.rowBytes = rowBytes
    }

    /// The first byte of row `y`.
    @inlinable
    public func row(_ y: Int) -> UnsafePointer<UInt8> { base + y * rowBytes }
}

extension BGRImage {
    /// Lends the image as a `BGRPixels` view (the image must not be empty).
    public func withPixels<R, E: Error>(_ body: (BGRPixels) throws(E) -> R) throws(E) -> R {
        precondition(width > 0 && height > 0, "empty image")
        return try withUnsafeBytes { (bytes) throws(E) -> R in
            // A non-empty image always has storage.
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return try body(BGRPixels(base: base, width: width, height: height, rowBytes: width * 3))
        }
    }
}
