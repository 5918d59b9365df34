import Foundation
import Testing

@testable import LookoutModel

/// The memory plans of the fixture models at several input shapes and batches, checked by `PlanChecker` (an
/// independent reading of the plan): no live value overwritten, views alias what they show, the peak reported.
@Suite struct MemoryPlanInvariantTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var model: String
        var shape: [Int]
        /// Also run the symbolic execution (cost grows with the activations).
        var simulate: Bool
        var testDescription: String { "\((model as NSString).lastPathComponent) \(shape)" }
    }

    static let realCases: [Case] = [
        Case(model: Fixtures.staticModel, shape: [1, 3, 640, 640], simulate: false),
        Case(model: Fixtures.fp16Model, shape: [1, 3, 640, 640], simulate: false),
        Case(model: Fixtures.dynamicModel, shape: [1, 3, 384, 640], simulate: false),
        Case(model: Fixtures.dynamicModel, shape: [2, 3, 320, 320], simulate: false),
        Case(model: Fixtures.dynamicModel, shape: [3, 3, 96, 128], simulate: true),
        Case(model: Fixtures.dynamicModel, shape: [1, 3, 128, 96], simulate: true),
    ]

    /// Exports whose plans are also executed symbolically (one of each graph form; the others get the structural
    /// checks only, to keep the debug test time down).
    static let simulated: Set<String> = [
        "u80-dynamic", "u80-op12", "u83-op11", "u83-op11-dynamic", "u84-static", "u84-dynamic-raw",
        "u84-gpu-half-dynamic",
    ]

    /// Every matrix export at its manifest shapes, dynamic ones also at batch 3.
    static var matrixCases: [Case] {
        guard Matrix.manifest != nil else { return [Case(model: Matrix.missing, shape: [], simulate: true)] }
        return Matrix.models.flatMap { entry -> [Case] in
            let file = Matrix.folder + "/" + (entry["file"] as? String ?? "?")
            var shapes = (entry["cases"] as? [[String: Any]] ?? []).compactMap {
                ($0["input"] as? [String: Any])?["shape"] as? [Int]
            }
            // End-to-end graphs bake TopK k = 300: batch 3 at a size with >= 300 anchors.
            let endToEnd = entry["head"] as? String == "end-to-end"
            if entry["dynamic"] as? Bool == true { shapes.append(endToEnd ? [3, 3, 96, 160] : [3, 3, 64, 96]) }
            let simulate = simulated.contains(entry["name"] as? String ?? "")
            return Array(Set(shapes)).sorted { $0.lexicographicallyPrecedes($1) }.map {
                Case(model: file, shape: $0, simulate: simulate)
            }
        }
    }

    static func check(_ c: Case) throws -> ExecutionPlan {
        if c.model == Matrix.missing { _ = try Fixtures.generated("onnx/manifest.json") }
        let model = try DetectionModel(path: c.model)
        let plan = try model.plan(forInputShape: c.shape)
        var checker = PlanChecker(plan)
        let layout = checker.layoutProblems()
        #expect(layout.isEmpty, "\(c.testDescription): \(layout.prefix(5))")
        guard layout.isEmpty else { return plan }
        let lifetimes = checker.lifetimeProblems()
        #expect(lifetimes.isEmpty, "\(c.testDescription): \(lifetimes.count) overlaps, e.g. \(lifetimes.prefix(3))")
        if c.simulate {
            let data = checker.dataProblems()
            #expect(data.isEmpty, "\(c.testDescription): \(data)")
        }
        // The peak: below the unplanned total, not below what is live at once.
        let bound = checker.liveLowerBound()
        let unplanned = checker.runtime.reduce(0) { $0 + MemoryPlanner.align(plan.graph[$1].elementCount) }
        #expect(plan.unplannedElements == unplanned)
        #expect(plan.arenaElements < plan.unplannedElements)
        #expect(plan.arenaElements >= bound)
        #expect(plan.peakBytes(bytesPerElement: 4) == plan.arenaElements * 4)
        return plan
    }

    @Test(arguments: realCases)
    func realModelPlansAreSound(c: Case) throws {
        let plan = try Self.check(c)
        let concats = plan.graph.nodes.enumerated().filter { if case .concat = $0.element.op { true } else { false } }
        let executed = Set(plan.steps.map(\.node))
        let channelConcats = concats.filter { index, node in
            guard case .concat(let axis) = node.op else { return false }
            return axis == 1 || axis == 1 - plan.graph.shape(node.outputs[0]).count
        }
        let viewConcats = channelConcats.filter { !executed.contains($0.offset) }
        print(
            String(
                format:
                    "plan %@: %d steps, %d view nodes, arena %.2f MiB fp32 (unplanned %.2f MiB), channel concats %d/%d views, other concats %d executed",
                c.testDescription, plan.steps.count, plan.viewNodes, Double(plan.arenaElements) * 4 / 1_048_576,
                Double(plan.unplannedElements) * 4 / 1_048_576, viewConcats.count, channelConcats.count,
                concats.count - channelConcats.count))
        // YOLOv8's feature concats (C2f, SPPF, neck, head) all become views: no copy at run time.
        #expect(
            viewConcats.count == channelConcats.count,
            "executed: \(channelConcats.filter { executed.contains($0.offset) }.map(\.element.name))")
        #expect(channelConcats.count >= 13)
        // Split (C2f) and the reshapes are views too.
        let executedOps = plan.steps.map { plan.graph.nodes[$0.node].op.name }
        #expect(!executedOps.contains("Split") && !executedOps.contains("Reshape"), "\(executedOps)")
        #expect(Double(plan.arenaElements) < 0.5 * Double(plan.unplannedElements))
    }

    @Test(arguments: matrixCases)
    func matrixModelPlansAreSound(c: Case) throws {
        _ = try Self.check(c)
    }

    /// The checker itself catches a broken plan: shift one buffer onto another live one.
    @Test func checkerDetectsAnOverlap() throws {
        let model = try DetectionModel(path: Fixtures.dynamicModel)
        var plan = try model.plan(forInputShape: [1, 3, 64, 64])
        let convs = plan.graph.nodes.filter { $0.op.name.hasPrefix("ConvSiLU") }
        // The input of the second ConvSiLU is still needed when the third writes, unless they alias: put them together.
        let a = convs[1].outputs[0]
        let b = convs[2].outputs[0]
        plan.layouts[b]!.offset = plan.layouts[a]!.offset
        var checker = PlanChecker(plan)
        #expect(!checker.lifetimeProblems().isEmpty || !checker.dataProblems().isEmpty)
    }
}
