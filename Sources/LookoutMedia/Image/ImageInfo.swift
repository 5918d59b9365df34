/// What a file's header says, before decoding its pixels.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    /// The width once EXIF orientation is applied (what a decode produces).
    public var width: Int
    /// The height once EXIF orientation is applied.
    public var height: Int
    /// The EXIF orientation found (`.topLeft` when there is none).
    public var orientation: ExifOrientation

    public init(format: ImageFormat, width: Int, height: Int, orientation: ExifOrientation) {
        self.format = format
        self.width = width
        self.height = height
        self.orientation = orientation
    }

    /// Bytes of the decoded BGR8 image.
    public var byteCount: Int { width * height * 3 }
}
