import LookoutCore
import LookoutInference
import LookoutMedia

/// The images of a folder, in name order, one frame each, decoded straight into the stream's frame pool; each
/// frame is named by its file's path. A bad image is reported and skipped.
struct ImageFolderSource: Sendable {
    let source: StreamSource
    let folder: String

    func run(_ feed: FrameSink) {
        let expansion = ImageSources.expand([folder])
        if let error = expansion.errors.first {
            feed.report(.failed(message: error))
            return
        }
        var decoder = ImageDecoder()
        var failures = 0
        for path in expansion.files {
            if feed.isStopping { return }
            if let limit = source.maxFrames, feed.framesProduced >= limit { return }
            do {
                let info = try decoder.info(file: path)
                try feed.write(width: info.width, height: info.height, format: .bgr, name: path) {
                    buffer, _ in _ = try decoder.decode(file: path, into: buffer)
                }
            } catch {
                failures += 1
                feed.stats.decodeErrors.add(1, ordering: .relaxed)
                feed.report(.decodeErrors(total: failures, last: "\(error)"))
            }
        }
        if failures == expansion.files.count {
            feed.report(.failed(message: "\(folder): none of the \(failures) images could be decoded"))
        }
    }
}
