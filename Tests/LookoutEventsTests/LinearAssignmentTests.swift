import Testing

@testable import LookoutEvents

@Suite struct LinearAssignmentTests {
    /// Σ(cost − limit) over the kept pairs, the quantity lapjv's extended problem minimises.
    static func objective(_ result: LinearAssignment.Result, cost: [Float], columns: Int, limit: Double) -> Double {
        result.matches.reduce(0) { $0 + Double(cost[$1.0 * columns + $1.1]) - limit }
    }

    /// Every partial assignment of rows to columns (small sizes), keeping pairs below the limit only.
    static func bruteForce(cost: [Float], rows: Int, columns: Int, limit: Double) -> Double {
        var best = 0.0
        var used = [Bool](repeating: false, count: columns)
        func visit(_ row: Int, _ total: Double) {
            if row == rows {
                best = min(best, total)
                return
            }
            visit(row + 1, total)
            for c in 0..<columns where !used[c] {
                let value = Double(cost[row * columns + c]) - limit
                guard value < 0 else { continue }
                used[c] = true
                visit(row + 1, total + value)
                used[c] = false
            }
        }
        visit(0, 0)
        return best
    }

    @Test(arguments: [(1, 1), (2, 3), (3, 2), (4, 4), (5, 3), (3, 6), (6, 6)])
    func optimumEqualsBruteForce(shape: (Int, Int)) {
        var generator = SplitMix(seed: UInt64(shape.0 * 31 + shape.1))
        for _ in 0..<200 {
            let cost = (0..<(shape.0 * shape.1)).map { _ in Float(generator.unit()) }
            let result = LinearAssignment.solve(cost: cost, rows: shape.0, columns: shape.1, limit: 0.8)
            let got = Self.objective(result, cost: cost, columns: shape.1, limit: 0.8)
            let want = Self.bruteForce(cost: cost, rows: shape.0, columns: shape.1, limit: 0.8)
            #expect(abs(got - want) < 1e-9, "cost \(cost)")
            #expect(result.matches.allSatisfy { Double(cost[$0.0 * shape.1 + $0.1]) < 0.8 })
            #expect(result.matches.count + result.unmatchedRows.count == shape.0)
            #expect(result.matches.count + result.unmatchedColumns.count == shape.1)
        }
    }

    @Test func pairsAtOrAboveTheLimitStayUnmatched() {
        let result = LinearAssignment.solve(cost: [0.9, 0.8, 0.85, 0.95], rows: 2, columns: 2, limit: 0.8)
        #expect(result.matches.isEmpty)
        #expect(result.unmatchedRows == [0, 1])
        #expect(result.unmatchedColumns == [0, 1])
    }

    /// The greedy choice (row 0 takes its cheapest column) is not the optimum here.
    @Test func globalOptimumBeatsGreedy() {
        let result = LinearAssignment.solve(cost: [0.1, 0.2, 0.15, 0.7], rows: 2, columns: 2, limit: 0.8)
        #expect(result.matches.map { [$0.0, $0.1] } == [[0, 1], [1, 0]])
    }

    @Test func emptySides() {
        #expect(LinearAssignment.solve(cost: [], rows: 0, columns: 3, limit: 0.8).unmatchedColumns == [0, 1, 2])
        #expect(LinearAssignment.solve(cost: [], rows: 2, columns: 0, limit: 0.8).unmatchedRows == [0, 1])
    }
}

/// A small deterministic generator for the randomised cases.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
