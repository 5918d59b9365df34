import LookoutCore

/// Facts about this build that benchmark reports record.
package enum BuildInfo {
    /// The git commit (12 hex digits): `LOOKOUT_COMMIT` when set (the GPU machine gets a copy without `.git`), else
    /// read from the `.git` folder above the working directory (HEAD, its ref file or `packed-refs`), else "unknown".
    package static let commit: String = {
        if let env = SystemInfo.environment("LOOKOUT_COMMIT") { return env }
        return gitHead().map { String($0.prefix(12)) } ?? "unknown"
    }()

    static func gitHead() -> String? {
        var folder = Paths.absolute(".")
        while true {
            let git = Paths.join(folder, ".git")
            if Paths.isDirectory(git), let head = FileBytes.readText(Paths.join(git, "HEAD"))?.trimmedWhitespace {
                guard head.hasPrefix("ref: ") else { return head }
                let ref = String(head.dropFirst(5))
                if let hash = FileBytes.readText(Paths.join(git, ref))?.trimmedWhitespace { return hash }
                let packed = FileBytes.readText(Paths.join(git, "packed-refs")) ?? ""
                for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
                    return String(line.prefix { $0 != " " })
                }
                return nil
            }
            let parent = Paths.directory(of: folder)
            if parent == folder || folder == "/" { return nil }
            folder = parent
        }
    }
}
