/// The frames of a video file as BGR images, every `stride`th one (Ultralytics' `vid_stride`: `LoadImagesAndVideos`
/// grabs `stride` frames and keeps the last, so the kept frames are the `stride`th, `2·stride`th… of the file).
///
/// ```swift
/// var video = try VideoFrames(path: "clip.mp4", stride: 2)
/// var image = BGRImage()
/// while let frame = try video.next(into: &image) { … }   // frame: 1, 2, 3… among the kept frames
/// ```
public struct VideoFrames {
    public let decoder: VideoDecoder
    public let stride: Int
    /// Kept frames so far.
    public private(set) var kept = 0

    public init(path: String, stride: Int = 1, options: VideoInputOptions = VideoInputOptions()) throws(VideoError) {
        decoder = try VideoDecoder(url: path, options: options)
        self.stride = max(stride, 1)
    }

    /// The frames this stride keeps of the frames the container declares (`int(frame_count / vid_stride)`), when it
    /// declares them.
    public var expectedCount: Int? { decoder.info.frameCount.map { $0 / stride } }

    /// The kept frames' rate: the file's rate over the stride (30 when the file has none).
    public var frameRate: Double { (decoder.info.frameRate ?? 30) / Double(stride) }

    /// Decodes up to the next kept frame into `image`; returns its 1-based number among the kept frames, or nil at
    /// the end of the file.
    public mutating func next(into image: inout BGRImage) throws(VideoError) -> Int? {
        while let frame = try decoder.next() {
            guard (frame.index + 1) % stride == 0 else { continue }
            image.reshape(width: frame.width, height: frame.height)
            let rowBytes = image.rowBytes
            try image.withUnsafeMutableBytes { (bytes) throws(VideoError) in
                try decoder.convert(into: bytes.baseAddress!, rowBytes: rowBytes)
            }
            kept += 1
            return kept
        }
        return nil
    }
}
