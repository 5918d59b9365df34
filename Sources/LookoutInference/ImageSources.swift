import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Expands `detect`/`val` SOURCE arguments into image files: a file is itself, a directory is its images (sorted,
/// not recursive), anything else is a glob pattern. Each argument that yields nothing is an error naming it.
package enum ImageSources {
    package static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "jpe"]

    package struct Expansion: Sendable {
        package var files: [String] = []
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
                    let images = names.filter { imageExtensions.contains(Paths.pathExtension($0)) }.sorted()
                    if images.isEmpty {
                        result.errors.append("\(argument): no images (.jpg, .jpeg, .png) in the directory")
                    }
                    let base = argument.hasSuffix("/") ? argument : argument + "/"
                    result.files.append(contentsOf: images.map { base + $0 })
                } else {
                    result.files.append(argument)
                }
                continue
            }
            if argument.contains(where: { "*?[".contains($0) }) {
                let matches = glob(argument)
                if matches.isEmpty { result.errors.append("\(argument): no files match the pattern") }
                result.files.append(contentsOf: matches)
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
