/// The constant-velocity Kalman filter ByteTrack runs per track, in Ultralytics' `KalmanFilterXYAH` form: the state is
/// (centre x, centre y, aspect ratio w/h, height) and their velocities; the noise of every step is proportional to the
/// height (weights 1/20 for positions, 1/160 for velocities; the aspect ratio's are constants). Float64 throughout, as
/// NumPy computes it.
///
/// The 8-vector and the 8×8 covariance live in one 72-element buffer allocated with the track; steps run in place.
struct KalmanBoxFilter: Sendable {
    static let positionWeight = 1.0 / 20
    static let velocityWeight = 1.0 / 160

    /// `mean[0..<8]`, then the covariance row-major at `8 + 8 * row + column`.
    private(set) var storage: [Double]

    var mean: (x: Double, y: Double, a: Double, h: Double) { (storage[0], storage[1], storage[2], storage[3]) }

    /// A track from an unmatched measurement (x, y, a, h): zero velocity, variances from the height.
    init(measurement m: (Double, Double, Double, Double)) {
        storage = [Double](repeating: 0, count: 72)
        storage[0] = m.0
        storage[1] = m.1
        storage[2] = m.2
        storage[3] = m.3
        let p = 2 * Self.positionWeight * m.3
        let v = 10 * Self.velocityWeight * m.3
        let std = [p, p, 1e-2, p, v, v, 1e-5, v]
        for i in 0..<8 { storage[8 + 9 * i] = std[i] * std[i] }
    }

    /// Zeroes the height velocity (Ultralytics does so before predicting a track that is not in the tracked state).
    mutating func stopHeightVelocity() { storage[7] = 0 }

    /// One time step: x' = F x, P' = F P Fᵀ + Q with F = [[I, I], [0, I]] and Q from the current height.
    mutating func predict() {
        storage.withUnsafeMutableBufferPointer { s in
            let h = s[3]
            let p = Self.positionWeight * h
            let v = Self.velocityWeight * h
            let q = (p * p, p * p, 1e-2 * 1e-2, p * p, v * v, v * v, 1e-5 * 1e-5, v * v)
            for i in 0..<4 { s[i] += s[4 + i] }
            // F P Fᵀ on the blocks [[A, B], [C, D]]: [[A + B + C + D, B + D], [C + D, D]].
            for r in 0..<4 {
                for c in 0..<4 {
                    let a = s[8 + 8 * r + c]
                    let b = s[8 + 8 * r + c + 4]
                    let cc = s[8 + 8 * (r + 4) + c]
                    let d = s[8 + 8 * (r + 4) + c + 4]
                    s[8 + 8 * r + c] = a + b + cc + d
                    s[8 + 8 * r + c + 4] = b + d
                    s[8 + 8 * (r + 4) + c] = cc + d
                }
            }
            s[8 + 0] += q.0
            s[8 + 9] += q.1
            s[8 + 18] += q.2
            s[8 + 27] += q.3
            s[8 + 36] += q.4
            s[8 + 45] += q.5
            s[8 + 54] += q.6
            s[8 + 63] += q.7
        }
    }

    /// The correction step with a measurement (x, y, a, h): S = H P Hᵀ + R, K = P Hᵀ S⁻¹, x += K (z − H x),
    /// P −= K S Kᵀ, S⁻¹ applied by Gaussian elimination with partial pivoting (as `np.linalg.solve`).
    mutating func update(measurement z: (Double, Double, Double, Double)) {
        storage.withUnsafeMutableBufferPointer { s in
            let h = s[3]
            let p = Self.positionWeight * h
            let r = (p * p, p * p, 1e-1 * 1e-1, p * p)
            // S (4×4), and Pᵀ's first four columns as the right-hand sides (P is symmetric: rows 0..3 of P).
            var sm = [Double](repeating: 0, count: 16)
            for i in 0..<4 { for j in 0..<4 { sm[4 * i + j] = s[8 + 8 * i + j] } }
            sm[0] += r.0
            sm[5] += r.1
            sm[10] += r.2
            sm[15] += r.3
            // Solve S X = (P[:, :4])ᵀ (4×8); the gain is Xᵀ (8×4).
            var rhs = [Double](repeating: 0, count: 32)
            for i in 0..<4 { for j in 0..<8 { rhs[8 * i + j] = s[8 + 8 * j + i] } }
            var lu = sm
            Self.solve(&lu, &rhs, columns: 8)
            let innovation = (z.0 - s[0], z.1 - s[1], z.2 - s[2], z.3 - s[3])
            // K[j][i] = rhs[i][j].
            for j in 0..<8 {
                s[j] +=
                    innovation.0 * rhs[j] + innovation.1 * rhs[8 + j] + innovation.2 * rhs[16 + j]
                    + innovation.3 * rhs[24 + j]
            }
            // P −= K S Kᵀ: first KS (8×4), then times Kᵀ.
            var ks = [Double](repeating: 0, count: 32)
            for j in 0..<8 {
                for c in 0..<4 {
                    var sum = 0.0
                    for i in 0..<4 { sum += rhs[8 * i + j] * sm[4 * i + c] }
                    ks[4 * j + c] = sum
                }
            }
            for a in 0..<8 {
                for b in 0..<8 {
                    var sum = 0.0
                    for c in 0..<4 { sum += ks[4 * a + c] * rhs[8 * c + b] }
                    s[8 + 8 * a + b] -= sum
                }
            }
        }
    }

    /// Solves A X = B in place (A n×n row-major, B n×columns), Gaussian elimination with partial pivoting.
    static func solve(_ a: inout [Double], _ b: inout [Double], columns: Int) {
        let n = 4
        for k in 0..<n {
            var pivot = k
            for i in (k + 1)..<n where abs(a[n * i + k]) > abs(a[n * pivot + k]) { pivot = i }
            if pivot != k {
                for j in 0..<n { a.swapAt(n * k + j, n * pivot + j) }
                for j in 0..<columns { b.swapAt(columns * k + j, columns * pivot + j) }
            }
            let d = a[n * k + k]
            guard d != 0 else { continue }
            for i in (k + 1)..<n {
                let f = a[n * i + k] / d
                guard f != 0 else { continue }
                for j in k..<n { a[n * i + j] -= f * a[n * k + j] }
                for j in 0..<columns { b[columns * i + j] -= f * b[columns * k + j] }
            }
        }
        for k in stride(from: n - 1, through: 0, by: -1) {
            let d = a[n * k + k]
            for j in 0..<columns {
                var value = b[columns * k + j]
                for i in (k + 1)..<n { value -= a[n * k + i] * b[columns * i + j] }
                b[columns * k + j] = d != 0 ? value / d : 0
            }
        }
    }
}
