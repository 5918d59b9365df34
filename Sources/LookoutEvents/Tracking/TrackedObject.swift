/// One tracked object in a frame: the track's box (its Kalman state after this frame's update, as Ultralytics reports
/// it), the matched detection's score and class, and the track's identity.
public struct TrackedObject: Sendable, Hashable {
    /// The track's id, unique within its stream and run (1, 2, … in order of creation).
    public var id: Int
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float
    public var confidence: Float
    public var classIndex: Int
    /// Index of the matched detection in the frame's detections.
    public var detectionIndex: Int

    public init(
        id: Int, x1: Float, y1: Float, x2: Float, y2: Float, confidence: Float, classIndex: Int, detectionIndex: Int
    ) {
        self.id = id
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
        self.confidence = confidence
        self.classIndex = classIndex
        self.detectionIndex = detectionIndex
    }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
}
