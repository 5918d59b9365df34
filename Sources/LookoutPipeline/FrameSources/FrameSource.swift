/// Where one stream's frames come from: a video file or live URL, a folder of images, generated frames
/// (`StreamSource`), or an application's own frames (`PushedFrames`, or a type of its own).
///
/// The pipeline runs each source's `run(into:)` on a thread of its own, so a source may block (in a decoder, on
/// the network, on a camera SDK). It writes frames into the sink, which hands each one to the batcher: a file-like
/// source waits there while the pipeline is behind; a live one drops its oldest waiting frame.
public protocol FrameSource: Sendable, CustomStringConvertible {
    /// Whether the stream drops its oldest waiting frame when the pipeline is behind (a camera), rather than
    /// waiting (a file).
    var dropsWhenBehind: Bool { get }

    /// Produces frames into `sink` until the source ends or `sink.isStopping`. A thrown error ends the stream as
    /// failed (the other streams go on); problems it recovers from go to `sink.report(_:)`.
    func run(into sink: FrameSink) throws
}
