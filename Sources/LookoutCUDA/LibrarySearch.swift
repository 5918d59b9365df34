#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One place a library was looked for, and why it did not load there.
package struct LibraryAttempt: Sendable, Equatable {
    package struct Failure: Error, Sendable, Equatable {
        package let reason: String
    }
    package let candidate: String
    package let reason: String
}

/// A run-time library could not be loaded from anywhere on its search path. The description is one line that
/// says what was looked for, where, and how to point Lookout at it.
package struct LibraryNotFound: Error, CustomStringConvertible, Sendable {
    package let library: String
    package let names: [String]
    package let locations: [String]
    package let attempts: [LibraryAttempt]
    package let overrideVariable: String

    package var description: String {
        // Files that exist but failed to load say more than the many folders where nothing was, so they come first.
        let broken = attempts.filter {
            !$0.reason.contains("No such file") && !$0.reason.contains("cannot open shared object file")
        }
        var text = "\(library) not found: looked for \(names.joined(separator: ", ")) in "
        text += locations.joined(separator: ", ")
        if !broken.isEmpty {
            text += "; present but unusable: " + broken.map { "\($0.candidate) (\($0.reason))" }.joined(separator: "; ")
        }
        text += "; set \(overrideVariable) to the folder (or file) that holds it"
        return text
    }
}

/// Where a run-time library is looked for, in order: the override variable, the dynamic linker's own search
/// (`LD_LIBRARY_PATH`, the ld.so cache, the system folders), the CUDA toolkit folders, and the folders of
/// NVIDIA's pip wheels (`site-packages/nvidia/*/lib`).
package struct LibrarySearch: Sendable {
    /// A human name for messages, e.g. "CUDA driver (libcuda)".
    package var library: String
    /// File names to try in each folder, best first (e.g. `libcuda.so.1`, `libcuda.so`).
    package var names: [String]
    /// Glob patterns (e.g. `libnvrtc.so.*`) tried in each folder after the fixed names.
    package var namePatterns: [String]
    /// The environment variable that names a folder, a file, or a colon-separated list of them.
    package var overrideVariable: String
    /// Whether to ask the dynamic linker for the bare names (its own search path and cache).
    package var useSystemSearch: Bool
    /// Folder patterns (glob) searched after the system search.
    package var folderPatterns: [String]
    package var environment: [String: String]

    package init(
        library: String, names: [String], namePatterns: [String] = [], overrideVariable: String,
        useSystemSearch: Bool = true, folderPatterns: [String], environment: [String: String]
    ) {
        self.library = library
        self.names = names
        self.namePatterns = namePatterns
        self.overrideVariable = overrideVariable
        self.useSystemSearch = useSystemSearch
        self.folderPatterns = folderPatterns
        self.environment = environment
    }

    /// A search for one of the toolkit's libraries (NVRTC, cuDNN) whose own override variable `variable` is
    /// searched first, then the generic `LOOKOUT_CUDA_PATH`, then the system search and the standard folders.
    package static func toolkitLibrary(
        _ library: String, names: [String], namePatterns: [String] = [], variable: String, environment: [String: String]
    ) -> LibrarySearch {
        var merged = environment
        let specific = environment[variable] ?? ""
        let generic = environment[CUDA.pathVariable] ?? ""
        merged[variable] = [specific, generic].filter { !$0.isEmpty }.joined(separator: ":")
        return LibrarySearch(
            library: library, names: names, namePatterns: namePatterns, overrideVariable: variable,
            folderPatterns: standardFolders(environment: environment), environment: merged)
    }

    /// The toolkit and wheel folders common to NVIDIA libraries, with `CUDA_HOME`/`CUDA_PATH` and the Python
    /// environments named by `VIRTUAL_ENV`, `CONDA_PREFIX` and `PYTHONPATH`.
    package static func standardFolders(environment: [String: String]) -> [String] {
        var folders: [String] = []
        for variable in ["CUDA_HOME", "CUDA_PATH"] {
            if let root = environment[variable], !root.isEmpty {
                folders += ["\(root)/lib64", "\(root)/lib", "\(root)/targets/x86_64-linux/lib"]
            }
        }
        folders += [
            "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
            "/usr/lib/wsl/lib", "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
            "/usr/local/cuda-*/lib64", "/usr/local/cuda-*/targets/x86_64-linux/lib", "/usr/local/cuda*/compat",
        ]
        var pythonRoots: [String] = []
        for variable in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let root = environment[variable], !root.isEmpty { pythonRoots.append(root) }
        }
        if let home = environment["HOME"], !home.isEmpty { pythonRoots.append("\(home)/.local") }
        pythonRoots += ["/usr/local", "/usr", "/opt/conda"]
        for root in pythonRoots {
            folders.append("\(root)/lib/python3*/site-packages/nvidia/*/lib")
            folders.append("\(root)/lib/python3*/dist-packages/nvidia/*/lib")
        }
        if let path = environment["PYTHONPATH"] {
            for entry in path.split(separator: ":") where !entry.isEmpty {
                folders.append("\(entry)/nvidia/*/lib")
            }
        }
        return folders
    }

    /// Every location in search order, before globbing (what an error message lists).
    package var locations: [String] {
        var result: [String] = []
        let override = environment[overrideVariable] ?? ""
        result.append(override.isEmpty ? "$\(overrideVariable) (unset)" : "$\(overrideVariable)=\(override)")
        if useSystemSearch { result.append("the system linker path (LD_LIBRARY_PATH, ld.so cache)") }
        result += folderPatterns
        return result
    }

    /// Concrete files to try, in order: override entries, bare names for the dynamic linker, then each existing
    /// folder matching the patterns with each name.
    package func candidates() -> [String] {
        var result: [String] = []
        var seen = Set<String>()
        func add(_ path: String) {
            if seen.insert(path).inserted { result.append(path) }
        }
        if let override = environment[overrideVariable], !override.isEmpty {
            for entry in override.split(separator: ":").map(String.init) where !entry.isEmpty {
                if LibrarySearch.isDirectory(entry) {
                    for file in files(inFolder: entry) { add(file) }
                } else {
                    add(entry)
                }
            }
        }
        if useSystemSearch {
            for name in names { add(name) }
        }
        for pattern in folderPatterns {
            for folder in LibrarySearch.glob(pattern) where LibrarySearch.isDirectory(folder) {
                for file in files(inFolder: folder) { add(file) }
            }
        }
        return result
    }

    private func files(inFolder folder: String) -> [String] {
        var result: [String] = []
        for name in names {
            let path = "\(folder)/\(name)"
            if LibrarySearch.exists(path) { result.append(path) }
        }
        for pattern in namePatterns {
            result += LibrarySearch.glob("\(folder)/\(pattern)").filter { !result.contains($0) }
        }
        return result
    }

    /// Tries each candidate until one loads.
    package func load() -> Result<DynamicLibrary, LibraryNotFound> {
        var attempts: [LibraryAttempt] = []
        for candidate in candidates() {
            switch DynamicLibrary.open(candidate) {
            case .success(let library): return .success(library)
            case .failure(let failure): attempts.append(.init(candidate: candidate, reason: failure.reason))
            }
        }
        return .failure(
            LibraryNotFound(
                library: library, names: names + namePatterns, locations: locations, attempts: attempts,
                overrideVariable: overrideVariable))
    }

    static func glob(_ pattern: String) -> [String] {
        guard pattern.contains(where: { "*?[".contains($0) }) else {
            return exists(pattern) ? [pattern] : []
        }
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return paths.sorted(by: >)  // newest version folders (cuda-13.0 before cuda-12.4) first
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
