/// The CUDA C++ under Kernels/, which SwiftPM compiles into the binary (`resources: [.embedInCode(...)]` in
/// Package.swift generates `PackageResources.<name>_<extension>`, the file's bytes): NVRTC compiles text, and no
/// file or bundle has to be found next to the executable at run time.
enum KernelFiles {
    /// The files as one text, a blank line between consecutive files (each file ends in a single newline).
    static func text(_ files: [UInt8]...) -> String {
        files.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
    }
}
