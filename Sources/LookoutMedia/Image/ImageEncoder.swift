import CLookoutImage

/// Encodes BGR8 images as JPEG or PNG (for `lookout detect --save`).
public enum ImageEncoder {
    /// The encoded bytes of `image` in `format`; `quality` (1...100) and `fullChroma` (4:4:4 instead of 4:2:0, as
    /// Ultralytics saves crops: PIL's `subsampling=0`) apply to JPEG only.
    public static func encode(_ image: BGRImage, as format: ImageFormat, quality: Int = 95, fullChroma: Bool = false)
        throws(MediaError) -> [UInt8]
    {
        guard image.width > 0, image.height > 0 else {
            throw MediaError(.unsupported, file: "<memory>", message: "cannot encode an empty (0x0) image")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status: Int32 = image.withUnsafeBytes { pixels in
            message.withUnsafeMutableBufferPointer { text in
                let base = pixels.baseAddress?.assumingMemoryBound(to: UInt8.self)
                let w = Int32(clamping: image.width)
                let h = Int32(clamping: image.height)
                switch format {
                case .jpeg:
                    let q = Int32(clamping: min(max(quality, 1), 100))
                    return lk_jpeg_encode(base, w, h, q, fullChroma ? 1 : 0, &out, &size, text.baseAddress, 256)
                case .png:
                    return lk_png_encode(base, w, h, &out, &size, text.baseAddress, 256)
                }
            }
        }
        defer { lk_free(out) }
        if let error = CodecStatus.error(status, format: format, name: "<memory>", message: message) {
            throw MediaError(
                .writeFailed, file: error.file, message: "cannot encode \(format.displayName): \(error.message)")
        }
        guard let out else { return [] }
        return [UInt8](UnsafeBufferPointer(start: out, count: size))
    }

    /// Writes `image` to `path`, in the format its extension names (`.jpg`, `.jpeg` or `.png`).
    public static func write(_ image: BGRImage, to path: String, quality: Int = 95, fullChroma: Bool = false)
        throws(MediaError)
    {
        guard let format = ImageFormat.forOutput(path: path) else {
            throw MediaError(
                .unsupported, file: path, message: "cannot choose an output format; name the file .jpg, .jpeg or .png")
        }
        let bytes: [UInt8]
        do {
            bytes = try encode(image, as: format, quality: quality, fullChroma: fullChroma)
        } catch {
            throw MediaError(error.code, file: path, message: error.message)
        }
        let result: Result<Void, MediaError> = bytes.withUnsafeBytes { raw in
            do throws(MediaError) { return .success(try FileIO.write(raw, to: path)) } catch { return .failure(error) }
        }
        try result.get()
    }
}
