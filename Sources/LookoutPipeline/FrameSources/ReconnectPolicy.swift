/// When and how fast a live stream reconnects.
public struct ReconnectPolicy: Sendable, Hashable {
    /// First back-off delay in seconds; doubled after each failed attempt…
    public var initialDelay = 0.2
    /// …up to this.
    public var maxDelay = 1.0
    /// A live stream with no frame for this many seconds is considered stalled and re-opened.
    public var stallTimeout = 5.0
    /// Seconds an open (connect, handshake, probe) may take.
    public var openTimeout = 5.0
    /// Failed opens in a row after which the stream gives up and fails; nil retries for ever (cameras come back).
    public var maxAttempts: Int?

    public init() {}

    /// The delay before attempt `attempt` (1-based).
    public func delay(attempt: Int) -> Double {
        min(maxDelay, initialDelay * Double(1 << min(max(attempt - 1, 0), 20)))
    }
}
