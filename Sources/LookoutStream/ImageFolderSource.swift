import Lookout
import LookoutMedia

/// The images of a folder, in name order, one frame each, decoded straight into the stream's frame pool. A bad
/// image is reported and skipped.
struct ImageFolderSource: Sendable {
    let folder: String

    func run(_ feed: StreamFeed) {
        let expansion = ImageSources.expand([folder])
        if let error = expansion.errors.first {
            feed.report(.failed(message: error))
            return
        }
        var decoder = ImageDecoder()
        var failures = 0
        for path in expansion.files {
            if feed.isStopping { return }
            if let limit = feed.source.maxFrames, feed.framesDecoded >= limit { return }
            do {
                let info = try decoder.info(file: path)
                let index = feed.takeFrameIndex()
                guard let slot = try feed.acquire(width: info.width, height: info.height) else { continue }
                do {
                    _ = try slot.withUnsafeMutableBytes { buffer in try decoder.decode(file: path, into: buffer) }
                } catch {
                    slot.release()
                    throw error
                }
                feed.publish(slot, index: index, pts: nil)
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
