/// Optimal assignment with a cost limit, as ByteTrack uses it: Ultralytics calls `lap.lapjv(cost, extend_cost=True,
/// cost_limit=limit)`, which solves the (rows + columns)-square problem where leaving a row or a column unmatched
/// costs `limit / 2`. Its optimum keeps a pair exactly when that lowers Σ(cost − limit) over the kept pairs, so this
/// solves the equivalent rows × (columns + rows) problem — real pairs cost `cost − limit`, each row's own "unmatched"
/// column costs 0 — with the shortest-augmenting-path method of Jonker and Volgenant (dual variables, Dijkstra over
/// reduced costs, one augmentation per row): the same optimum, O(n³), no pair at or above the limit.
enum LinearAssignment {
    struct Result: Equatable {
        /// (row, column) pairs in row order.
        var matches: [(Int, Int)]
        var unmatchedRows: [Int]
        var unmatchedColumns: [Int]

        static func == (a: Result, b: Result) -> Bool {
            a.matches.elementsEqual(b.matches, by: { $0 == $1 }) && a.unmatchedRows == b.unmatchedRows
                && a.unmatchedColumns == b.unmatchedColumns
        }
    }

    /// `cost` is rows × columns, row-major.
    static func solve(cost: [Float], rows: Int, columns: Int, limit: Double) -> Result {
        guard rows > 0, columns > 0 else {
            return Result(matches: [], unmatchedRows: Array(0..<rows), unmatchedColumns: Array(0..<columns))
        }
        let width = columns + rows
        // A pair at or above the limit is never better than leaving both unmatched: give it a cost no optimum uses.
        var reduced = [Double](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for c in 0..<columns {
                let value = Double(cost[r * columns + c]) - limit
                reduced[r * width + c] = value < 0 ? value : .infinity
            }
            for c in columns..<width where c - columns != r { reduced[r * width + c] = .infinity }
        }
        let columnOf = shortestAugmentingPath(cost: reduced, rows: rows, columns: width)
        var matches: [(Int, Int)] = []
        var unmatchedRows: [Int] = []
        var matchedColumn = [Bool](repeating: false, count: columns)
        for r in 0..<rows {
            let c = columnOf[r]
            if c >= 0, c < columns {
                matches.append((r, c))
                matchedColumn[c] = true
            } else {
                unmatchedRows.append(r)
            }
        }
        let unmatchedColumns = (0..<columns).filter { !matchedColumn[$0] }
        return Result(matches: matches, unmatchedRows: unmatchedRows, unmatchedColumns: unmatchedColumns)
    }

    /// Minimum-cost assignment of every row (rows ≤ columns; `.infinity` marks a forbidden pair, and every row must
    /// have a finite choice). Returns each row's column.
    static func shortestAugmentingPath(cost: [Double], rows: Int, columns: Int) -> [Int] {
        var u = [Double](repeating: 0, count: rows)
        var v = [Double](repeating: 0, count: columns)
        var columnOfRow = [Int](repeating: -1, count: rows)
        var rowOfColumn = [Int](repeating: -1, count: columns)
        var shortest = [Double](repeating: .infinity, count: columns)
        var path = [Int](repeating: -1, count: columns)
        var remaining = [Int](repeating: 0, count: columns)
        var scannedRows = [Bool](repeating: false, count: rows)
        var scannedColumns = [Bool](repeating: false, count: columns)
        for current in 0..<rows {
            for j in 0..<columns {
                shortest[j] = .infinity
                path[j] = -1
                scannedColumns[j] = false
                remaining[j] = columns - 1 - j
            }
            for i in 0..<rows { scannedRows[i] = false }
            var count = columns
            var minimum = 0.0
            var row = current
            var sink = -1
            // Dijkstra over reduced costs from `current` until a free column is reached.
            while sink == -1 {
                scannedRows[row] = true
                var lowest = Double.infinity
                var lowestAt = -1
                for k in 0..<count {
                    let j = remaining[k]
                    let reducedCost = minimum + cost[row * columns + j] - u[row] - v[j]
                    if reducedCost < shortest[j] {
                        path[j] = row
                        shortest[j] = reducedCost
                    }
                    // Prefer a free column among equals: the augmentation ends sooner.
                    if shortest[j] < lowest || (shortest[j] == lowest && rowOfColumn[j] == -1) {
                        lowest = shortest[j]
                        lowestAt = k
                    }
                }
                minimum = lowest
                guard minimum.isFinite, lowestAt >= 0 else { return columnOfRow }  // no finite choice: infeasible
                let j = remaining[lowestAt]
                if rowOfColumn[j] == -1 { sink = j } else { row = rowOfColumn[j] }
                scannedColumns[j] = true
                count -= 1
                remaining[lowestAt] = remaining[count]
            }
            u[current] += minimum
            for i in 0..<rows where scannedRows[i] && i != current {
                u[i] += minimum - shortest[columnOfRow[i]]
            }
            for j in 0..<columns where scannedColumns[j] {
                v[j] -= minimum - shortest[j]
            }
            // Augment along the path back to `current`.
            var j = sink
            while true {
                let i = path[j]
                rowOfColumn[j] = i
                let previous = columnOfRow[i]
                columnOfRow[i] = j
                j = previous
                if i == current { break }
            }
        }
        return columnOfRow
    }
}
