import LookoutCore
import LookoutModel

/// How a detector takes a requested input size (`DetectOptions.imageSize`), as Ultralytics' predictor does: a
/// fixed-shape export always runs its export size, and a dynamic one rounds the size up to a multiple of the model's
/// stride (`check_imgsz`).
public enum ImageSizeChoice: Sendable, Equatable {
    /// No size requested: the model's default (its export size).
    case modelDefault(Int)
    /// The size is used as given.
    case asRequested(Int)
    /// The size is not a multiple of the stride and is rounded up.
    case rounded(from: Int, to: Int, stride: Int)
    /// The model has a fixed input shape, which is used instead.
    case ignored(requested: Int, width: Int, height: Int)

    /// The square side letterboxing aims at (for a fixed model, its larger side).
    public var size: Int {
        switch self {
        case .modelDefault(let s), .asRequested(let s): return s
        case .rounded(_, let to, _): return to
        case .ignored(_, let w, let h): return max(w, h)
        }
    }

    /// A one-line note for a user when the request is not used as given (nil otherwise), naming the parameter
    /// `imageSize` in backticks as library messages do.
    public var note: String? {
        switch self {
        case .modelDefault, .asRequested: return nil
        case .rounded(let from, let to, let stride):
            return "`imageSize` \(from) is not a multiple of the model's stride \(stride): using \(to)"
        case .ignored(let requested, let w, let h):
            return "`imageSize` \(requested) is ignored: the model has a fixed \(w)x\(h) input "
                + "(export it with dynamic=True to choose the size)"
        }
    }
}

extension Detector {
    /// What this detector does with `requested` (see `ImageSizeChoice`).
    public func imageSizeChoice(_ requested: Int?) -> ImageSizeChoice {
        let (h, w) = model.defaultImageSize
        guard let requested else { return .modelDefault(max(h, w)) }
        guard model.isDynamic else { return .ignored(requested: requested, width: w, height: h) }
        let stride = max(model.metadata.stride, 1)
        let rounded = (requested + stride - 1) / stride * stride
        return rounded == requested ? .asRequested(requested) : .rounded(from: requested, to: rounded, stride: stride)
    }

    /// `options.validate()` plus what depends on the model: every class in `classes` must be one of its classes.
    public func validate(_ options: DetectOptions) throws(LookoutError) {
        try options.validate()
        let count = model.classCount
        if let wrong = options.classes?.first(where: { $0 >= count }) {
            let names = model.classNames.enumerated().prefix(12).map { "\($0.offset) \($0.element)" }
            throw LookoutError.invalidArgument(
                "classes",
                "\(wrong) is not a class of this model: it has \(count) (\(names.joined(separator: ", "))"
                    + (count > names.count ? ", …" : "") + ")")
        }
    }
}
