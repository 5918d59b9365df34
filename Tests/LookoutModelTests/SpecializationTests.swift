import Foundation
import Testing

@testable import LookoutModel

/// Specialisation folds a dynamic export's shape plumbing away: at any input size the dynamic model becomes the
/// same fused graph as the static export, with every Shape/Gather/Range/Expand/ConstantOfShape/Cast/Unsqueeze
/// computed at load time.
@Suite struct SpecializationTests {
    /// Operators that only compute shapes, anchors and strides in Ultralytics exports.
    static let plumbing: Set<String> = [
        "Shape", "Gather", "Range", "Expand", "ConstantOfShape", "Cast", "Unsqueeze", "Squeeze", "Constant", "Equal",
        "Where",
    ]

    /// A fused graph's structure: each node's operator, attributes that matter, and output shape.
    static func structure(_ graph: Graph) -> [String] {
        graph.nodes.map { node in
            let shapes = node.outputs.map { "\(graph.shape($0))" }.joined(separator: ",")
            switch node.op {
            case .conv(let a), .convSiLU(let a, _):
                return "\(node.op.name) k\(a.kernel.h)x\(a.kernel.w) s\(a.strides.h) g\(a.group) \(shapes)"
            default:
                return "\(node.op.name) \(shapes)"
            }
        }
    }

    /// Plumbing operators left in a specialised graph; a float16-weight export's Casts of the graph input and output
    /// (run-time data) are no plumbing.
    static func unfolded(_ graph: Graph) -> [String] {
        graph.nodes.filter { node in
            guard plumbing.contains(node.op.name) else { return false }
            if case .cast = node.op,
                node.inputs.first == graph.inputs.first || node.outputs.first == graph.outputs.first
            {
                return false
            }
            return true
        }.map { "\($0.op.name) '\($0.name)'" }
    }

    static func fused(_ model: DetectionModel, _ shape: [Int]) throws -> Graph {
        var graph = try model.graph.specialized(inputShapes: [shape])
        graph.fuseConvActivations()
        return graph
    }

    @Test(arguments: [[1, 3, 384, 640], [2, 3, 640, 640], [1, 3, 320, 320], [1, 3, 640, 640], [3, 3, 256, 192]])
    func dynamicModelFoldsToTheStaticGraph(shape: [Int]) throws {
        let dynamic = try DetectionModel(path: Fixtures.dynamicModel)
        let fixed = try DetectionModel(path: Fixtures.staticModel)
        let raw = Set(dynamic.graph.nodes.map(\.op.name))
        #expect(
            raw.isSuperset(of: ["Shape", "Gather", "Range", "Expand", "ConstantOfShape", "Cast", "Unsqueeze"]),
            "\(raw.sorted())")

        let graph = try Self.fused(dynamic, shape)
        let left = Self.unfolded(graph)
        #expect(left.isEmpty, "not folded: \(left)")
        // Only floating-point tensors are computed at run time.
        for node in graph.nodes {
            for output in node.outputs {
                #expect(graph[output].dataType == .float, "\(node.name) computes \(graph[output].dataType)")
            }
        }
        let anchors =
            (shape[2] / 8) * (shape[3] / 8) + (shape[2] / 16) * (shape[3] / 16) + (shape[2] / 32) * (shape[3] / 32)
        #expect(graph.shape(graph.outputs[0]) == [shape[0], 8, anchors])

        // Same structure as the static export at 640 (shapes scaled to this input).
        let reference = try Self.fused(fixed, [1, 3, 640, 640])
        let a = Self.structure(graph).map { $0.components(separatedBy: " [")[0] }
        let b = Self.structure(reference).map { $0.components(separatedBy: " [")[0] }
        #expect(a == b, "fused graphs differ:\n\(a.count) vs \(b.count) nodes")
        if shape == [1, 3, 640, 640] {
            #expect(Self.structure(graph) == Self.structure(reference))
        }
        #expect(
            graph.operatorCounts().map { "\($0.0) \($0.1)" } == reference.operatorCounts().map { "\($0.0) \($0.1)" })
    }

    /// The constants the dynamic graph computes (anchor points and strides) equal the static export's initializers.
    @Test func foldedAnchorsEqualTheStaticExportsConstants() throws {
        let dynamic = try Self.fused(try DetectionModel(path: Fixtures.dynamicModel), [1, 3, 640, 640])
        let fixed = try Self.fused(try DetectionModel(path: Fixtures.staticModel), [1, 3, 640, 640])
        func constants(_ g: Graph) -> [String: [Float]] {
            var result: [String: [Float]] = [:]
            for node in g.nodes {
                for case let input? in node.inputs {
                    guard let c = g.constants[input], c.count == 2 * 8400 || c.count == 8400 else { continue }
                    result["\(node.op.name) \(c.shape)", default: []] = c.floats
                }
            }
            return result
        }
        let a = constants(dynamic)
        let b = constants(fixed)
        #expect(b.count >= 2, "anchor and stride constants of the static graph: \(b.keys.sorted())")
        for (key, values) in b {
            let other = try #require(a[key], "\(key) missing from the dynamic graph (has \(a.keys.sorted()))")
            #expect(zip(values, other).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($0)) }, "\(key) differs")
        }
    }

    /// Every dynamic export of the matrix folds completely (an end-to-end head's index plumbing aside), to the graph
    /// of its static twin.
    @Test(arguments: Matrix.modelNames.filter { $0 == Matrix.missing || $0.contains("dynamic") })
    func matrixDynamicExportsFold(name: String) throws {
        let entry = try Matrix.model(name)
        let model = try DetectionModel(path: Matrix.folder + "/" + (entry["file"] as? String ?? "?"))
        let candidates = [
            name.replacingOccurrences(of: "-dynamic", with: "-static"),
            name.replacingOccurrences(of: "-dynamic", with: ""),
        ]
        let found = candidates.first(where: { n in Matrix.models.contains { $0["name"] as? String == n } })
        let twinName: String = try #require(found, "no static twin for \(name)")
        let twinEntry = try Matrix.model(twinName)
        let twinFile = twinEntry["file"] as? String ?? "?"
        let twin = try DetectionModel(path: Matrix.folder + "/" + twinFile)
        // End-to-end graphs bake TopK k = 300, so they need >= 300 anchors (128x96 has 252): [N, 300, 6]. Their
        // Unsqueeze/Expand/Cast of the TopK indices (for GatherElements) work on data and stay, as in the static twin.
        let endToEnd = entry["head"] as? String == "end-to-end"
        func ops(_ nodes: [String]) -> [String] { nodes.map { String($0.prefix { $0 != " " }) }.sorted() }
        let dataNodes = endToEnd ? ops(Self.unfolded(try Self.fused(twin, [1, 3, 128, 128]))) : []
        for shape in [[1, 3, 96, 160], endToEnd ? [2, 3, 128, 128] : [2, 3, 128, 96], [1, 3, 128, 128]] {
            let graph = try Self.fused(model, shape)
            let left = Self.unfolded(graph)
            #expect(ops(left) == dataNodes, "\(name) \(shape): not folded: \(left)")
            let anchors = (shape[2] * shape[3]) * 21 / 1024
            #expect(graph.shape(graph.outputs[0]) == (endToEnd ? [shape[0], 300, 6] : [shape[0], 8, anchors]))
        }
        let a = try Self.fused(model, [1, 3, 128, 128]).operatorCounts().map { "\($0.0) \($0.1)" }
        let b = try Self.fused(twin, [1, 3, 128, 128]).operatorCounts().map { "\($0.0) \($0.1)" }
        #expect(a == b, "\(name) vs \(twinName)")
    }

    /// Static raw exports carry the `chunk` plumbing (Shape → Gather → Add → Div → Slice bounds) even at a fixed size.
    @Test(arguments: ["u80-static", "u83-static-raw", "u84-static-raw", "u80-op12"])
    func rawStaticExportsFoldTheirChunkPlumbing(name: String) throws {
        let entry = try Matrix.model(name)
        let model = try DetectionModel(path: Matrix.folder + "/" + (entry["file"] as? String ?? "?"))
        #expect(model.graph.nodes.contains { $0.op.name == "Shape" })
        let graph = try Self.fused(model, [1, 3, 128, 128])
        let left = Self.unfolded(graph)
        #expect(left.isEmpty, "\(left)")
        #expect(
            !graph.nodes.contains {
                if case .binary = $0.op {
                    graph.constants[$0.inputs[0]!] != nil && graph.constants[$0.inputs[1]!] != nil
                } else {
                    false
                }
            })
    }
}
