import ArgumentParser
import LookoutCore
import LookoutInference
import LookoutModel

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's metadata, operators, shapes, parameters, fused graph and memory plan.")

    @Argument(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "Input shape to plan for, as BxHxW (default: the export's own).") var shape: String?
    @Flag(help: "List every node of the fused graph.") var nodes = false

    func run() throws {
        let model: DetectionModel
        do {
            model = try DetectionModel(path: try self.model ?? DefaultModel.modelPath())
        } catch {
            throw Console.fail(error)
        }
        var inputShape = [model.fixedBatch ?? 1, 3, model.defaultImageSize.height, model.defaultImageSize.width]
        if let shape {
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw Console.fail("--shape must look like 1x640x640")
            }
            inputShape = [parts[0], 3, parts[1], parts[2]]
        }
        let plan: ExecutionPlan
        do { plan = try model.plan(forInputShape: inputShape) } catch { throw Console.fail(error.description) }
        let m = model.metadata
        print("model        \(model.path)")
        print("producer     \(model.producer), opset \(model.opset)")
        if m.isUltralytics {
            print("ultralytics  \(m.version) \(m.description)")
            print(
                "task         \(m.task), stride \(m.stride), imgsz \(m.imageSize.height)x\(m.imageSize.width), batch \(m.batch), dynamic \(m.dynamic), half \(m.half)"
            )
        }
        print(
            "classes      \(model.classCount): \(model.classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))"
        )
        if let family = m.family { print("family       \(family.name)\(family.scale)") }
        print("head         \(model.head.postprocessing)")
        let declared = model.declaredInputShape.map { $0.map(String.init) ?? "?" }.joined(separator: ", ")
        print("input        \(model.inputName) \(model.inputType) [\(declared)]")
        print(
            "output       \(model.outputName) \(model.outputType) \(plan.graph.shape(plan.graph.outputs[0])) for input \(inputShape)"
        )
        print("parameters   \(Self.grouped(model.graph.parameterCount)) (\(model.graph.constants.count) initializers)")
        let original = model.graph.operatorCounts().map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        print("ONNX ops     \(model.graph.nodes.count) nodes: \(original)")
        let fused = plan.graph.operatorCounts().map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        print("fused graph  \(plan.graph.nodes.count) nodes: \(fused)")
        print(
            "plan         \(plan.steps.count) executed steps, \(plan.viewNodes) nodes became views, \(plan.bufferCount) buffers"
        )
        let mib = { (elements: Int, bytes: Int) in TextFormat.format("%.2f MiB", Double(elements * bytes) / 1_048_576) }
        print(
            "activations  peak \(mib(plan.arenaElements, 4)) fp32 / \(mib(plan.arenaElements, 2)) fp16 (without views and reuse: \(mib(plan.unplannedElements, 4)) fp32)"
        )
        if nodes {
            let executed = Set(plan.steps.map(\.node))
            for (i, node) in plan.graph.nodes.enumerated() {
                let outs = node.outputs.map { "\(plan.graph.shape($0))" }.joined(separator: " ")
                print(
                    TextFormat.format(
                        "%4d %@ %-12@ %@ -> %@", i, executed.contains(i) ? " " : "v", node.op.name, node.name, outs))
            }
        }
    }

    /// 3157200 → "3,157,200".
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return (value < 0 ? "-" : "") + out
    }
}
