import Foundation
import Testing

@testable import LookoutCUDA

@Suite struct LibrarySearchTests {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func missingDriverIsOneLineNamingWhatWasSearched() throws {
        let folder = try temporaryFolder()
        let environment = ["LOOKOUT_CUDA_PATH": folder.path + "/nowhere"]
        var search = CUDA.driverSearch(environment: environment)
        search.useSystemSearch = false
        search.folderPatterns = [folder.path, folder.path + "/lib*"]
        guard case .failure(let error) = CUDA.load(search: search) else {
            Issue.record("a driver loaded from an empty folder")
            return
        }
        let text = error.description
        #expect(!text.contains("\n"))
        #expect(text.contains("libcuda.so.1"))
        #expect(text.contains("LOOKOUT_CUDA_PATH"))
        #expect(text.contains(folder.path))
    }

    @Test func unusableFileIsReportedWithTheLoaderReason() throws {
        let folder = try temporaryFolder()
        try Data("not a library".utf8).write(to: folder.appendingPathComponent("libcuda.so.1"))
        var search = CUDA.driverSearch(environment: ["LOOKOUT_CUDA_PATH": folder.path])
        search.useSystemSearch = false
        search.folderPatterns = []
        guard case .failure(let error) = CUDA.load(search: search) else {
            Issue.record("garbage loaded as a driver")
            return
        }
        #expect(error.description.contains("present but unusable"))
        #expect(error.description.contains(folder.appendingPathComponent("libcuda.so.1").path))
    }

    @Test func overrideComesFirstThenSystemThenFolders() throws {
        let folder = try temporaryFolder()
        let file = folder.appendingPathComponent("libcuda.so.1")
        try Data().write(to: file)
        var search = CUDA.driverSearch(environment: ["LOOKOUT_CUDA_PATH": folder.path])
        search.folderPatterns = ["/definitely/not/here"]
        let candidates = search.candidates()
        #expect(candidates.first == file.path)
        #expect(candidates.dropFirst().first == "libcuda.so.1")
    }

    @Test func pipWheelLayoutIsSearched() throws {
        let site = try temporaryFolder()
        let lib = site.appendingPathComponent("nvidia/cu13/lib")
        try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
        try Data().write(to: lib.appendingPathComponent("libnvrtc.so.13"))
        var search = NVRTC.search(environment: ["PYTHONPATH": site.path])
        search.useSystemSearch = false
        #expect(search.candidates().contains(lib.appendingPathComponent("libnvrtc.so.13").path))
    }

    @Test func toolkitFoldersAndWheelsAreInTheStandardList() {
        let folders = LibrarySearch.standardFolders(environment: ["CUDA_HOME": "/opt/cuda", "VIRTUAL_ENV": "/venv"])
        #expect(folders.contains("/opt/cuda/lib64"))
        #expect(folders.contains("/usr/local/cuda-*/lib64"))
        #expect(folders.contains("/venv/lib/python3*/site-packages/nvidia/*/lib"))
    }
}

@Suite struct DeviceRequestTests {
    @Test(arguments: [
        ("auto", DeviceRequest.auto), ("cpu", .cpu), ("cuda", .cuda(ordinal: 0)), ("cuda:1", .cuda(ordinal: 1)),
        ("CUDA:0", .cuda(ordinal: 0)),
    ])
    func parses(text: String, expected: DeviceRequest) throws {
        #expect(try DeviceRequest(parsing: text) == expected)
    }

    @Test(arguments: ["gpu", "cuda:", "cuda:-1", "cuda:x", ""])
    func rejects(text: String) {
        #expect(throws: DeviceRequestError.self) { try DeviceRequest(parsing: text) }
    }

    @Test func autoFallsBackToTheCPUAndSaysWhy() {
        let unavailable = CUDAUnavailable(reason: .noDevice(path: "/x/libcuda.so.1"))
        let resolved = DeviceRequest.auto.resolve(loader: { .failure(unavailable) })
        guard case .success(.cpu(let reason)) = resolved else {
            Issue.record("auto did not fall back to the CPU")
            return
        }
        #expect(reason.contains("no GPU"))
    }

    @Test func cudaFailsWithTheLoaderLine() {
        let unavailable = CUDAUnavailable(reason: .noDevice(path: "/x/libcuda.so.1"))
        guard case .failure(let error) = DeviceRequest.cuda(ordinal: 0).resolve(loader: { .failure(unavailable) })
        else {
            Issue.record("cuda resolved without a driver")
            return
        }
        #expect(error.description == unavailable.description)
    }

    @Test func cpuNeverLoadsTheDriver() {
        var called = false
        _ = DeviceRequest.cpu.resolve(loader: {
            called = true
            return .failure(CUDAUnavailable(reason: .noDevice(path: "")))
        })
        #expect(!called)
    }
}
