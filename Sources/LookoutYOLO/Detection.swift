/// One detected object: a box in pixels (corners, float32 as Ultralytics keeps them), its confidence and class.
public struct Detection: Sendable, Hashable {
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float
    /// The class score that survived NMS.
    public var confidence: Float
    /// Index into the model's class names.
    public var classIndex: Int

    public init(x1: Float, y1: Float, x2: Float, y2: Float, confidence: Float, classIndex: Int) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
        self.confidence = confidence
        self.classIndex = classIndex
    }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
}
