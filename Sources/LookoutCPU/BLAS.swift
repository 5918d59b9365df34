import CLookoutBLAS

/// OpenBLAS, configured once per process.
enum BLAS {
    /// Sets OpenBLAS to one thread the first time it is used: the backend runs its own workers, each calling
    /// single-threaded GEMMs on cache-sized tiles, which beats OpenBLAS splitting whole layers itself.
    static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// C[m×n] = A[m×k] · B[k×n], all row-major with the given leading dimensions.
    @inline(__always)
    static func sgemm(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            Int32(LookoutCblasRowMajor.rawValue), Int32(LookoutCblasNoTrans.rawValue),
            Int32(LookoutCblasNoTrans.rawValue),
            Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    static var configuration: String {
        guard let text = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: text)
    }
}
