import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Expands `detect`/`val` SOURCE arguments into image and video files: a file is itself, a directory is its images
/// and videos (sorted, not recursive), anything else is a glob pattern. Each argument that yields nothing is an
/// error naming it. Videos are told apart by their extension, as Ultralytics does (`VID_FORMATS`).
package enum ImageSources {
    package static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "jpe"]
    /// Ultralytics' `VID_FORMATS` (data/utils.py).
    package static let videoExtensions: Set<String> = [
        "asf", "avi", "gif", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "ts", "wmv", "webm",
    ]

    package static func isVideo(_ path: String) -> Bool {
        videoExtensions.contains(Paths.pathExtension(path).lowercased())
    }

    package struct Expansion: Sendable {
        /// Images (and files of unknown kind, which decoding then reports), in argument order.
        package var files: [String] = []
        /// Video files, in argument order (Ultralytics runs them after the images).
        package var videos: [String] = []
        /// One line per argument that could not be used.
        package var errors: [String] = []
    }

    package static func expand(_ arguments: [String]) -> Expansion {
        var result = Expansion()
        for argument in arguments {
            if Paths.exists(argument) {
                if Paths.isDirectory(argument) {
                    guard let names = Paths.contents(ofDirectory: argument) else {
                        result.errors.append("\(argument): cannot read the directory")
                        continue
                    }
                    let images = names.filter { imageExtensions.contains(Paths.pathExtension($0).lowercased()) }
                        .sorted()
                    let videos = names.filter { isVideo($0) }.sorted()
                    if images.isEmpty && videos.isEmpty {
                        result.errors.append("\(argument): no images (.jpg, .jpeg, .png) or videos in the directory")
                    }
                    let base = argument.hasSuffix("/") ? argument : argument + "/"
                    result.files.append(contentsOf: images.map { base + $0 })
                    result.videos.append(contentsOf: videos.map { base + $0 })
                } else if isVideo(argument) {
                    result.videos.append(argument)
                } else {
                    result.files.append(argument)
                }
                continue
            }
            if argument.contains(where: { "*?[".contains($0) }) {
                let matches = glob(argument)
                if matches.isEmpty { result.errors.append("\(argument): no files match the pattern") }
                result.files.append(contentsOf: matches.filter { !isVideo($0) })
                result.videos.append(contentsOf: matches.filter { isVideo($0) })
                continue
            }
            result.errors.append("\(argument): no such file or directory")
        }
        return result
    }

    static func glob(_ pattern: String) -> [String] {
        var state = glob_t()
        defer { globfree(&state) }
        guard Glibc.glob(pattern, 0, nil, &state) == 0 else { return [] }
        var paths: [String] = []
        for i in 0..<Int(state.gl_pathc) {
            if let p = state.gl_pathv[i] { paths.append(String(cString: p)) }
        }
        return paths.sorted()
    }
}
