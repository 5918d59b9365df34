/// Colours for classes: Ultralytics' 20-colour plotting palette (utils/plotting.py `Colors`), cycled by class
/// index, so saved images look like Ultralytics' own.
public enum ClassPalette {
    /// RGB hex values in Ultralytics' order.
    static let hex: [UInt32] = [
        0x042AFF, 0x0BDBEB, 0xF3F3F3, 0x00DFB7, 0x111F68, 0xFF6FDD, 0xFF444F, 0xCCED00, 0x00F344, 0xBD00FF,
        0x00B4FF, 0xDD00BA, 0x00FFFF, 0x26C000, 0x01FFB3, 0x7D24FF, 0x7B0068, 0xFF1B6C, 0xFC6D2F, 0xA2FF0B,
    ]

    /// The colour of a class as `(b, g, r)`.
    public static func color(forClass index: Int) -> (b: UInt8, g: UInt8, r: UInt8) {
        let v = hex[((index % hex.count) + hex.count) % hex.count]
        return (UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v >> 16))
    }

    /// Black or white, whichever reads better on `color` (Rec. 601 luma).
    public static func textColor(on color: (b: UInt8, g: UInt8, r: UInt8)) -> (b: UInt8, g: UInt8, r: UInt8) {
        let luma = 0.299 * Double(color.r) + 0.587 * Double(color.g) + 0.114 * Double(color.b)
        return luma > 150 ? (0, 0, 0) : (255, 255, 255)
    }
}
