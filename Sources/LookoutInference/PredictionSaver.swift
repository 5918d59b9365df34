import LookoutCore
import LookoutMedia
import LookoutYOLO

/// What a predict run writes besides its JSON, with Ultralytics' names for the settings.
public struct SaveOptions: Sendable {
    /// Annotated images (`save`): `DIR/<name>.<ext>` for an image, `DIR/<name>.mp4` for a video's kept frames.
    public var annotated = false
    /// Label files (`save_txt`): `DIR/labels/<name>.txt`, `DIR/labels/<name>_<frame>.txt` for a video frame.
    public var labels = false
    /// A confidence column in the label files (`save_conf`).
    public var labelConfidence = false
    /// Crops of each detection (`save_crop`): `DIR/crops/<class name>/<name>[_<frame>].jpg`, `-2`, `-3`… when taken.
    public var crops = false
    /// How boxes are drawn (line width, `show_labels`, `show_conf`).
    public var annotator = Annotator()

    public init() {}

    /// Whether anything is written at all.
    public var writesFiles: Bool { annotated || labels || crops }
}

/// Writes a predict run's files into one folder with Ultralytics' layout and names (`BasePredictor.write_results`,
/// `Results.save_txt`, `Results.save_crop`, `save_one_box`):
///
/// - Each source gets a base name, its file stem; a second source with a stem already taken in this run gets
///   `stem-2`, `stem-3`…; a video keeps one base name for all its frames.
/// - Label files hold `PredictionLabels` lines; one is replaced (never appended to) when it already exists, and an
///   image or frame without detections leaves none.
/// - Crops are `CropRegion` (gain 1.02, pad 10) of the original pixels as JPEG (quality 95, no chroma
///   subsampling, as PIL saves them there), one per detection in confidence order; a taken name gets `-2`, `-3`….
///
/// One writer per run; calls from several threads take turns.
public final class PredictionSaver: @unchecked Sendable {
    // Everything below `names` is only touched under `lock`.
    public let directory: String
    public let options: SaveOptions
    public let names: [String]
    private let lock = Lock()
    private var takenBases: Set<String> = []
    private var videoBases: [String: String] = [:]
    private var videos: [String: VideoEncoder] = [:]
    private var canvas = BGRImage()

    /// Creates `directory` (and its parents) when needed.
    public init(directory: String, options: SaveOptions, names: [String]) throws(LookoutError) {
        self.directory = directory
        self.options = options
        self.names = names
        do { try Paths.createDirectories(directory) } catch {
            throw LookoutError(.io, error.description, cause: error)
        }
    }

    /// The base name a new source gets (and takes): its stem, or `stem-2`, `stem-3`… when taken in this run.
    private func takeBase(for source: String) -> String {
        let stem = Paths.stem(source)
        var base = stem.isEmpty ? "source" : stem
        var k = 1
        while takenBases.contains(base) {
            k += 1
            base = "\(stem)-\(k)"
        }
        takenBases.insert(base)
        return base
    }

    /// Saves what the options ask for one image (`frame` nil) or one kept frame of a video (`frame`: 1-based, as
    /// Ultralytics counts the frames it keeps, so `--vid-stride 4` names frames 1, 2, 3… of the frames it ran).
    /// `frameRate` is the annotated video's rate (the source's rate over the stride). Returns the name used.
    @discardableResult
    public func save(
        _ image: BGRImage, detections: [Detection], source: String, frame: Int? = nil, frameRate: Double = 30
    ) throws(LookoutError) -> String {
        try save(
            detections: detections, width: image.width, height: image.height, image: image, source: source,
            frame: frame, frameRate: frameRate)
    }

    /// The same where the pixels may be missing (`image` nil: label files only, no crops or annotated output).
    /// Frames of one video share a base name; `videoKey` tells videos apart when two streams read one source
    /// (default: `source` itself).
    @discardableResult
    public func save(
        detections: [Detection], width: Int, height: Int, image: BGRImage?, source: String, frame: Int? = nil,
        videoKey: String? = nil, frameRate: Double = 30
    ) throws(LookoutError) -> String {
        try lock.withLock { () throws(LookoutError) -> String in
            let base: String
            if frame != nil {
                let key = videoKey ?? source
                if let known = videoBases[key] {
                    base = known
                } else {
                    base = takeBase(for: source)
                    videoBases[key] = base
                }
            } else {
                base = takeBase(for: source)
            }
            let name = frame.map { "\(base)_\($0)" } ?? base
            if options.labels {
                try writeLabels(detections, width: width, height: height, name: name)
            }
            guard let image else { return name }
            if options.crops { try writeCrops(detections, image: image, name: name) }
            if options.annotated {
                canvas = image
                options.annotator.draw(detections, names: names, on: &canvas)
                if let frame {
                    try appendVideoFrame(key: videoKey ?? source, base: base, frame: frame, frameRate: frameRate)
                } else {
                    var ext = Paths.pathExtension(source)
                    if ImageFormat.forOutput(path: "x." + ext) == nil { ext = "jpg" }
                    let path = Paths.join(directory, base + "." + ext)
                    do throws(MediaError) { try ImageEncoder.write(canvas, to: path) } catch {
                        throw LookoutError(.io, error.description, cause: error)
                    }
                }
            }
            return name
        }
    }

    /// The label file of `name` (`DIR/labels/<name>.txt`).
    public func labelPath(name: String) -> String {
        Paths.join(Paths.join(directory, "labels"), name + ".txt")
    }

    private func writeLabels(_ detections: [Detection], width: Int, height: Int, name: String) throws(LookoutError) {
        let path = labelPath(name: name)
        Paths.removeItem(path)
        let text = PredictionLabels.text(
            detections, imageWidth: width, imageHeight: height, confidence: options.labelConfidence)
        guard !text.isEmpty else { return }
        do {
            try Paths.createDirectories(Paths.directory(of: path))
            try FileBytes.write(text, to: path)
        } catch {
            throw LookoutError(.io, error.description, cause: error)
        }
    }

    private func writeCrops(_ detections: [Detection], image: BGRImage, name: String) throws(LookoutError) {
        for d in detections {
            let className = names.indices.contains(d.classIndex) ? names[d.classIndex] : String(d.classIndex)
            let folder = Paths.join(Paths.join(directory, "crops"), className)
            let region = CropRegion(d, imageWidth: image.width, imageHeight: image.height)
            let crop = image.cropped(x1: region.x1, y1: region.y1, x2: region.x2, y2: region.y2)
            guard crop.width > 0, crop.height > 0 else { continue }
            // increment_path: `name.jpg`, then `name-2.jpg`, `name-3.jpg`… (the first that does not exist).
            var path = Paths.join(folder, name + ".jpg")
            var n = 2
            while Paths.exists(path) {
                path = Paths.join(folder, "\(name)-\(n).jpg")
                n += 1
            }
            do {
                try Paths.createDirectories(folder)
                try ImageEncoder.write(crop, to: path, quality: 95, fullChroma: true)
            } catch {
                throw LookoutError(.io, "\(error)", cause: error)
            }
        }
    }

    private func appendVideoFrame(key: String, base: String, frame: Int, frameRate: Double) throws(LookoutError) {
        do {
            let encoder: VideoEncoder
            if let open = videos[key] {
                encoder = open
            } else {
                // Encoders want even sizes (4:2:0); an odd last row or column is cut.
                encoder = try VideoEncoder(
                    path: Paths.join(directory, base + ".mp4"), width: canvas.width & ~1, height: canvas.height & ~1,
                    frameRate: frameRate)
                videos[key] = encoder
            }
            try canvas.withUnsafeBytes { (bytes) throws(VideoError) in
                try encoder.append(
                    bgr: bytes.baseAddress!, rowBytes: canvas.rowBytes, seconds: Double(frame - 1) / frameRate)
            }
        } catch {
            throw LookoutError(.io, error.message, cause: error)
        }
    }

    /// Finishes the annotated videos (their trailers); call once at the end of the run.
    public func finish() throws(LookoutError) {
        try lock.withLock { () throws(LookoutError) in
            defer { videos.removeAll() }
            for (_, encoder) in videos.sorted(by: { $0.key < $1.key }) {
                do throws(VideoError) { try encoder.finish() } catch {
                    throw LookoutError(.io, error.message, cause: error)
                }
            }
        }
    }
}
