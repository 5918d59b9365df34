/// HELP lines for the pipeline's Prometheus series: swift-metrics has no place for a description, so the exposition
/// gets them here, before each series' TYPE line.
enum MetricsHelp {
    static let descriptions: [String: String] = [
        "lookout_end_to_end_latency": "Seconds from a frame decoded to its detections delivered, per stream.",
        "lookout_stage_latency":
            "Seconds per stage: decode, queue (waiting for a batch), preprocess, inference, postprocess.",
        "lookout_batch_size": "Frames per batch.",
        "lookout_frames_total": "Frames detected and delivered, per stream.",
        "lookout_frames_dropped_total": "Frames a live stream dropped while the pipeline was behind, per stream.",
        "lookout_reconnects_total": "Times a live stream reconnected, per stream.",
        "lookout_decode_errors_total": "Corrupt data the decoder skipped, per stream.",
        "lookout_stream_errors_total": "Streams that failed, per stream.",
        "lookout_fps": "Frames delivered per second over the last sample, per stream.",
        "lookout_queue_depth": "Frames waiting for a batch, per stream.",
        "lookout_pool_buffers_in_use": "Frame-pool buffers in use, per stream.",
        "lookout_batches_in_flight": "Batches formed and not yet delivered.",
        "lookout_resident_memory_bytes": "Resident memory of the process, in bytes.",
        "lookout_device_memory_bytes": "GPU memory the engine uses, in bytes.",
        "lookout_gpu_utilisation": "Fraction of the last sample's wall time the GPU stream was busy.",
    ]

    /// `text` with a HELP line before each TYPE line of a described series that has none.
    static func annotate(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2048)
        var previous: Substring = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).prefix { $0 != " " }
                if let help = descriptions[String(name)], !previous.hasPrefix("# HELP \(name) ") {
                    out += "# HELP \(name) \(help)\n"
                }
            }
            out += line
            out += "\n"
            previous = line
        }
        if out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }
}
