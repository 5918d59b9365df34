/// The numbers Ultralytics prints after `val()`, overall and per class.
public struct ValSummary: Sendable, Equatable {
    /// One class that has ground truth (classes without any are left out, as in Ultralytics).
    public struct ClassResult: Sendable, Equatable {
        public var classIndex: Int
        /// Images containing the class.
        public var images: Int
        /// Ground-truth objects of the class.
        public var instances: Int
        /// Precision and recall at the confidence that maximises the smoothed mean F1 over classes.
        public var precision: Double
        public var recall: Double
        /// AP at each IoU threshold 0.50, 0.55, ..., 0.95.
        public var ap: [Double]
        public var ap50: Double { ap.first ?? 0 }
        public var ap50to95: Double { ap.isEmpty ? 0 : ap.reduce(0, +) / Double(ap.count) }
    }

    public var images: Int
    public var instances: Int
    public var classes: [ClassResult]
    /// Mean precision over classes with ground truth (`mp`).
    public var precision: Double
    /// Mean recall (`mr`).
    public var recall: Double
    /// Mean AP at IoU 0.5.
    public var map50: Double
    /// Mean AP over IoU 0.5...0.95 and classes.
    public var map50to95: Double
}
