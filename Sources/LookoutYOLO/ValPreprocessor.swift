import LookoutMedia

/// What val preprocessing did to one image, to map boxes and ground truth between spaces.
public struct ValGeometry: Sendable, Hashable {
    /// The original image size.
    public var originalWidth: Int
    public var originalHeight: Int
    /// The size after `load_image` (long side to imgsz with ceil).
    public var loadedWidth: Int
    public var loadedHeight: Int
    /// The letterbox applied to the loaded image (scale-up off).
    public var letterbox: LetterboxGeometry

    /// Ultralytics' val `ratio_pad`: per-axis gains from the original to the letterboxed content
    /// (`loaded/original * letterbox ratio`) and the left/top padding.
    public var ratioPad: RatioPad {
        RatioPad(
            gainY: Double(loadedHeight) / Double(originalHeight) * letterbox.ratio,
            gainX: Double(loadedWidth) / Double(originalWidth) * letterbox.ratio,
            padX: Double(letterbox.left), padY: Double(letterbox.top))
    }

    /// Ultralytics `BaseDataset.load_image` (data/base.py) then `LetterBox(new_shape, scaleup=False)`.
    public init(originalWidth w0: Int, originalHeight h0: Int, imageSize: Int, targetWidth: Int, targetHeight: Int) {
        originalWidth = w0
        originalHeight = h0
        let r = Double(imageSize) / Double(max(h0, w0))
        if r != 1 {
            // ceil, not round: val resizes the long side to at most imgsz.
            loadedWidth = min(Int((Double(w0) * r).rounded(.up)), imageSize)
            loadedHeight = min(Int((Double(h0) * r).rounded(.up)), imageSize)
        } else {
            loadedWidth = w0
            loadedHeight = h0
        }
        letterbox = LetterboxGeometry(
            sourceWidth: loadedWidth, sourceHeight: loadedHeight, targetWidth: targetWidth, targetHeight: targetHeight,
            scaleUp: false)
    }
}

/// Val preprocessing (YOLO_SEMANTICS §5.2): long side to `imageSize` with ceil and INTER_LINEAR, then a centred
/// letterbox with scale-up off, into a tensor slot. Keeps its buffers between images.
public struct ValPreprocessor: Sendable {
    private var resizer = LinearResizer()
    private var loaded = BGRImage()
    private var writer = LetterboxTensorWriter()

    public init() {}

    /// Preprocesses one image into slot `slot` of an NCHW float32 tensor of `targetHeight` x `targetWidth` images.
    @discardableResult
    public mutating func write(
        _ source: BGRPixels, imageSize: Int = 640, targetWidth: Int = 640, targetHeight: Int = 640,
        into tensor: UnsafeMutablePointer<Float>, slot: Int = 0
    ) -> ValGeometry {
        let geometry = ValGeometry(
            originalWidth: source.width, originalHeight: source.height, imageSize: imageSize,
            targetWidth: targetWidth, targetHeight: targetHeight)
        if geometry.loadedWidth == source.width && geometry.loadedHeight == source.height {
            writer.write(source, geometry: geometry.letterbox, into: tensor, slot: slot)
        } else {
            resizer.resize(source, width: geometry.loadedWidth, height: geometry.loadedHeight, into: &loaded)
            loaded.withPixels { writer.write($0, geometry: geometry.letterbox, into: tensor, slot: slot) }
        }
        return geometry
    }

    /// The same into slot `slot` of an NCHW float16 tensor.
    @discardableResult
    public mutating func write(
        _ source: BGRPixels, imageSize: Int = 640, targetWidth: Int = 640, targetHeight: Int = 640,
        into tensor: UnsafeMutablePointer<Float16>, slot: Int = 0
    ) -> ValGeometry {
        let geometry = ValGeometry(
            originalWidth: source.width, originalHeight: source.height, imageSize: imageSize,
            targetWidth: targetWidth, targetHeight: targetHeight)
        if geometry.loadedWidth == source.width && geometry.loadedHeight == source.height {
            writer.write(source, geometry: geometry.letterbox, into: tensor, slot: slot)
        } else {
            resizer.resize(source, width: geometry.loadedWidth, height: geometry.loadedHeight, into: &loaded)
            loaded.withPixels { writer.write($0, geometry: geometry.letterbox, into: tensor, slot: slot) }
        }
        return geometry
    }

    /// The letterboxed BGR picture val would feed (for checks and debugging).
    public mutating func letterbox(
        _ source: BGRPixels, imageSize: Int = 640, targetWidth: Int = 640, targetHeight: Int = 640,
        into output: inout BGRImage
    ) -> ValGeometry {
        let geometry = ValGeometry(
            originalWidth: source.width, originalHeight: source.height, imageSize: imageSize,
            targetWidth: targetWidth, targetHeight: targetHeight)
        resizer.resize(source, width: geometry.loadedWidth, height: geometry.loadedHeight, into: &loaded)
        loaded.withPixels { writer.letterbox($0, geometry: geometry.letterbox, into: &output) }
        return geometry
    }
}
