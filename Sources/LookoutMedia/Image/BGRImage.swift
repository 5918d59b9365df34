/// A picture in memory as OpenCV holds one after `imread(path, IMREAD_COLOR)`: 8-bit blue, green, red
/// interleaved (HWC), rows tightly packed, `width * height * 3` bytes.
///
/// The storage is reused: `reshape(width:height:)` (and every decoder call that takes an `inout BGRImage`) keeps
/// the existing allocation whenever its capacity suffices, so a loop that decodes into one image allocates once.
public struct BGRImage: Sendable, Equatable {
    /// Columns.
    public private(set) var width: Int
    /// Rows.
    public private(set) var height: Int
    /// The pixel bytes, `b, g, r` for each pixel, row after row.
    public private(set) var pixels: [UInt8]

    /// An image of the given size filled with one gray value.
    public init(width: Int, height: Int, fill: UInt8 = 0) {
        precondition(width >= 0 && height >= 0, "image size must not be negative")
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: fill, count: width * height * 3)
    }

    /// An image over existing BGR bytes; returns nil unless `pixels.count == width * height * 3`.
    public init?(width: Int, height: Int, pixels: [UInt8]) {
        guard width >= 0, height >= 0, pixels.count == width * height * 3 else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An empty image (0x0) to decode into.
    public init() {
        self.init(width: 0, height: 0)
    }

    /// Bytes of one row.
    public var rowBytes: Int { width * 3 }

    /// Bytes of the whole image.
    public var byteCount: Int { width * height * 3 }

    /// Changes the size, keeping the allocation when it is large enough. Pixel values are unspecified afterwards.
    public mutating func reshape(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "image size must not be negative")
        pixels.resize(to: width * height * 3)
        self.width = width
        self.height = height
    }

    /// The blue, green and red values at a pixel.
    public subscript(x: Int, y: Int) -> (b: UInt8, g: UInt8, r: UInt8) {
        get {
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.b
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.r
        }
    }

    /// Lends the pixel bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        // Array's own withUnsafeBytes does not carry typed throws: go through a Result.
        let result: Result<R, E> = pixels.withUnsafeBytes { bytes in
            do throws(E) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Lends the pixel bytes for writing.
    @discardableResult
    public mutating func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let result: Result<R, E> = pixels.withUnsafeMutableBytes { bytes in
            do throws(E) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
