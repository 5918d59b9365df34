import CLookoutImage

/// Decodes JPEG and PNG files or bytes to BGR8 exactly as OpenCV's `cv2.imread(path, IMREAD_COLOR)` does,
/// EXIF orientation included.
///
/// A decoder keeps its working buffers (the file's bytes, a scratch image for orientation, the EXIF block) between
/// calls: decoding many files with one decoder into one `BGRImage` allocates nothing once the buffers have grown
/// to the largest image. It is a value type: give each task its own.
public struct ImageDecoder: Sendable {
    private var fileBytes: [UInt8] = []
    private var scratch: [UInt8] = []
    private var exif = [UInt8](repeating: 0, count: 65536)
    /// The C door's message buffer.
    private var message = [CChar](repeating: 0, count: 256)

    public init() {}

    /// Decodes one file into a new image.
    public static func decode(file path: String) throws(MediaError) -> BGRImage {
        var decoder = ImageDecoder()
        var image = BGRImage()
        try decoder.decode(file: path, into: &image)
        return image
    }

    /// Reads the header of a file: format, upright size, orientation.
    public mutating func info(file path: String) throws(MediaError) -> ImageInfo {
        try FileIO.read(path: path, into: &fileBytes)
        let result = fileBytes.withUnsafeBytes { bytes in
            Self.header(bytes, name: path, exif: &exif, message: &message)
        }
        return try result.get()
    }

    /// Decodes a file into `image`, reusing its storage.
    public mutating func decode(file path: String, into image: inout BGRImage) throws(MediaError) {
        try FileIO.read(path: path, into: &fileBytes)
        let bytes = fileBytes
        // `bytes` shares fileBytes' storage (no copy); fileBytes is not written until the next call.
        try Self.withBytes(bytes) { (raw) throws(MediaError) in try decode(raw, name: path, into: &image) }
    }

    /// Decodes a file into caller-owned memory (for example a pooled, pinned frame buffer) and returns what was
    /// written: `info.byteCount` bytes at the start of `buffer`.
    public mutating func decode(file path: String, into buffer: UnsafeMutableRawBufferPointer) throws(MediaError)
        -> ImageInfo
    {
        try FileIO.read(path: path, into: &fileBytes)
        let bytes = fileBytes
        return try Self.withBytes(bytes) { (raw) throws(MediaError) in try decode(raw, name: path, into: buffer) }
    }

    /// Decodes encoded bytes into `image`, reusing its storage. `name` is used in error messages.
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, name: String = "<memory>", into image: inout BGRImage
    ) throws(MediaError) {
        let info = try Self.header(bytes, name: name, exif: &exif, message: &message).get()
        image.reshape(width: info.width, height: info.height)
        _ = try image.withUnsafeMutableBytes { (out) throws(MediaError) in
            try decodePixels(bytes, name: name, info: info, into: out)
        }
    }

    /// Decodes encoded bytes into caller-owned memory of at least `info.byteCount` bytes.
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, name: String = "<memory>", into buffer: UnsafeMutableRawBufferPointer
    ) throws(MediaError) -> ImageInfo {
        let info = try Self.header(bytes, name: name, exif: &exif, message: &message).get()
        guard buffer.count >= info.byteCount else {
            throw MediaError(
                .capacity, file: name,
                message:
                    "needs \(info.byteCount) bytes for \(info.width)x\(info.height) BGR, buffer has \(buffer.count)")
        }
        try decodePixels(bytes, name: name, info: info, into: buffer)
        return info
    }

    private static func withBytes<R>(
        _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(MediaError) -> R
    ) throws(MediaError) -> R {
        let result: Result<R, MediaError> = array.withUnsafeBytes { raw in
            do throws(MediaError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func header(
        _ bytes: UnsafeRawBufferPointer, name: String, exif: inout [UInt8], message: inout [CChar]
    )
        -> Result<ImageInfo, MediaError>
    {
        guard !bytes.isEmpty else {
            return .failure(
                MediaError(.empty, file: name, message: "empty file (0 bytes); expected a JPEG or PNG image"))
        }
        guard let format = ImageFormat.detect(bytes) else {
            return .failure(
                MediaError(.unknownFormat, file: name, message: "not an image (unknown format; JPEG and PNG are read)"))
        }
        var info = lk_image_info()
        let status: Int32 = exif.withUnsafeMutableBytes { exifBytes in
            message.withUnsafeMutableBufferPointer { text in
                let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                let exifBase = exifBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                switch format {
                case .jpeg:
                    return lk_jpeg_info(base, bytes.count, exifBase, exifBytes.count, &info, text.baseAddress, 256)
                case .png:
                    return lk_png_info(base, bytes.count, exifBase, exifBytes.count, &info, text.baseAddress, 256)
                }
            }
        }
        if let error = CodecStatus.error(status, format: format, name: name, message: message) {
            return .failure(error)
        }
        let kept = min(info.exif_size, exif.count)
        let orientation = exif.withUnsafeBytes {
            ExifOrientation.parse(tiff: UnsafeRawBufferPointer(rebasing: $0[..<kept]))
        }
        let width = Int(info.width)
        let height = Int(info.height)
        // The header's size decides the allocation: refuse what cv2.imread refuses (CV_IO_MAX_IMAGE_WIDTH/HEIGHT
        // 2^20, CV_IO_MAX_IMAGE_PIXELS 2^30) instead of asking for gigabytes on a corrupt header.
        guard width > 0, height > 0 else {
            return .failure(
                MediaError(.corrupt, file: name, message: "invalid image size \(width)x\(height) in the header"))
        }
        guard width <= 1 << 20, height <= 1 << 20, width * height <= 1 << 30 else {
            return .failure(
                MediaError(
                    .unsupported, file: name,
                    message: "image size \(width)x\(height) exceeds OpenCV's limits (2^20 per side, 2^30 pixels)"))
        }
        return .success(
            ImageInfo(
                format: format, width: orientation.swapsAxes ? height : width,
                height: orientation.swapsAxes ? width : height, orientation: orientation))
    }

    private mutating func decodePixels(
        _ bytes: UnsafeRawBufferPointer, name: String, info: ImageInfo, into out: UnsafeMutableRawBufferPointer
    ) throws(MediaError) {
        if info.orientation == .topLeft {
            try Self.decodeStored(bytes, format: info.format, name: name, into: out, message: &message)
            return
        }
        // Decode as stored, then turn upright into the output.
        let count = info.byteCount
        if scratch.count < count {
            scratch.resize(to: count)
        }
        let storedWidth = info.orientation.swapsAxes ? info.height : info.width
        let storedHeight = info.orientation.swapsAxes ? info.width : info.height
        var scratch = self.scratch
        self.scratch = []
        defer { self.scratch = scratch }
        let result: Result<Void, MediaError> = scratch.withUnsafeMutableBytes { stored in
            do throws(MediaError) {
                try Self.decodeStored(bytes, format: info.format, name: name, into: stored, message: &message)
                info.orientation.apply(
                    source: UnsafeRawBufferPointer(stored), width: storedWidth, height: storedHeight, destination: out)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    private static func decodeStored(
        _ bytes: UnsafeRawBufferPointer, format: ImageFormat, name: String, into out: UnsafeMutableRawBufferPointer,
        message: inout [CChar]
    ) throws(MediaError) {
        var info = lk_image_info()
        let status: Int32 = message.withUnsafeMutableBufferPointer { text in
            let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            let outBase = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
            switch format {
            case .jpeg: return lk_jpeg_decode(base, bytes.count, outBase, out.count, &info, text.baseAddress, 256)
            case .png: return lk_png_decode(base, bytes.count, outBase, out.count, &info, text.baseAddress, 256)
            }
        }
        if let error = CodecStatus.error(status, format: format, name: name, message: message) {
            throw error
        }
    }
}
