/// Ultralytics' `ratio_pad`: `((gain_y, gain_x), (pad_x, pad_y))`, mapping letterboxed pixels back to the original
/// image as `(x - pad_x) / gain_x`.
public struct RatioPad: Sendable, Hashable {
    public var gainY: Double
    public var gainX: Double
    public var padX: Double
    public var padY: Double

    public init(gainY: Double, gainX: Double, padX: Double, padY: Double) {
        self.gainY = gainY
        self.gainX = gainX
        self.padX = padX
        self.padY = padY
    }
}
