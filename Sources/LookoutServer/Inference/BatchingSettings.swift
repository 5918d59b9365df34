/// The server's batching settings (`lookout serve --inference-only --max-batch-size N --max-queue-delay-us N`).
package struct BatchingSettings: Sendable {
    /// Rows (images, or rows of the raw network's batch) one request may have, and one merged batch at most.
    package var maxBatchSize = ModelRunner.maxBatch
    /// How long the oldest queued request waits for others (Triton's `max_queue_delay_microseconds`, default 0).
    package var maxQueueDelayMicroseconds = 0
    /// Whether concurrent requests share engine calls (Triton's `dynamic_batching` in the model configuration).
    package var enabled = true

    package init() {}
}
