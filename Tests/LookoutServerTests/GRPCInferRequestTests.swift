import GRPCCore
import LookoutCore
import Testing

@testable import LookoutServer

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@Suite struct GRPCInferRequestTests {
    static func input(_ name: String = "images", _ datatype: String = "UINT8", _ shape: [Int64] = [1, 2, 2, 3])
        -> Inference_ModelInferRequest.InferInputTensor
    {
        .with {
            $0.name = name
            $0.datatype = datatype
            $0.shape = shape
        }
    }

    static func request(
        _ inputs: [Inference_ModelInferRequest.InferInputTensor], raw: [[UInt8]] = [],
        parameters: [String: Inference_InferParameter] = [:]
    ) -> Inference_ModelInferRequest {
        .with {
            $0.modelName = "m-detect"
            $0.inputs = inputs
            $0.rawInputContents = raw.map { Data($0) }
            $0.parameters = parameters
        }
    }

    /// The HTTP-like status of converting `message`, nil when it converts.
    static func status(_ message: Inference_ModelInferRequest) -> Int? {
        do {
            _ = try InferRequest(grpc: message)
            return nil
        } catch { return error.status }
    }

    @Test func rawInputContentsBecomeTheInputsBytes() throws {
        let pixels = (0..<12).map { UInt8($0) }
        var message = Self.request([Self.input()], raw: [pixels])
        message.id = "r1"
        message.outputs = [.with { $0.name = "count" }]
        let request = try InferRequest(grpc: message)
        #expect(request.id == "r1")
        #expect(request.inputs.count == 1)
        #expect(request.inputs[0].name == "images" && request.inputs[0].datatype == .uint8)
        #expect(request.inputs[0].shape == [1, 2, 2, 3])
        #expect(request.inputs[0].raw == pixels)
        #expect(request.outputs?.map(\.name) == ["count"])
    }

    @Test func typedContentsEqualRawContents() throws {
        let values: [Float] = [0, 1.5, -2, 3.25]
        var typed = Self.input("images", "FP32", [1, 4])
        typed.contents.fp32Contents = values
        let fromTyped = try InferRequest(grpc: Self.request([typed]))
        let fromRaw = try InferRequest(
            grpc: Self.request([Self.input("images", "FP32", [1, 4])], raw: [TensorBytes.of(values)]))
        #expect(fromTyped.inputs[0].raw == fromRaw.inputs[0].raw)
        #expect(TensorBytes.floats(fromTyped.inputs[0].raw) == values)

        var image = Self.input()
        image.contents.uintContents = (0..<12).map { UInt32($0 * 20) }
        #expect(try InferRequest(grpc: Self.request([image])).inputs[0].raw == (0..<12).map { UInt8($0 * 20) })

        var int16 = Self.input("x", "INT16", [2])
        int16.contents.intContents = [-2, 300]
        #expect(try InferRequest(grpc: Self.request([int16])).inputs[0].raw == [0xFE, 0xFF, 0x2C, 0x01])
    }

    @Test func bytesInputsRawAndTyped() throws {
        let raw: [UInt8] = [3, 0, 0, 0] + Array("abc".utf8) + [0, 0, 0, 0]
        let fromRaw = try InferRequest(grpc: Self.request([Self.input("encoded", "BYTES", [2])], raw: [raw]))
        #expect(fromRaw.inputs[0].items == [Array("abc".utf8), []])
        var typed = Self.input("encoded", "BYTES", [2])
        typed.contents.bytesContents = [Data("abc".utf8), Data()]
        #expect(try InferRequest(grpc: Self.request([typed])).inputs[0].items == fromRaw.inputs[0].items)
    }

    @Test func parametersBecomeTheRunnersJSON() throws {
        let parameters: [String: Inference_InferParameter] = [
            "conf": .with { $0.doubleParam = 0.5 }, "max_det": .with { $0.int64Param = 7 },
            "classes": .with { $0.stringParam = "0,2" }, "color": .with { $0.stringParam = "rgb" },
        ]
        let request = try InferRequest(
            grpc: Self.request([Self.input()], raw: [[UInt8](repeating: 0, count: 12)], parameters: parameters))
        let options = try ModelRunner.detectOptions(request.parameters)
        #expect(options.confidence == 0.5)
        #expect(options.maxDetections == 7)
        #expect(options.classes == [0, 2])
        #expect(try ModelRunner.color(request.parameters))
    }

    @Test(arguments: [
        ("no inputs", request([])),
        ("unknown datatype", request([input("images", "U8")], raw: [[UInt8](repeating: 0, count: 12)])),
        ("lower-case datatype", request([input("images", "uint8")], raw: [[UInt8](repeating: 0, count: 12)])),
        ("no name", request([input("")], raw: [[UInt8](repeating: 0, count: 12)])),
        ("negative dimension", request([input("images", "UINT8", [1, -2, 2, 3])], raw: [[]])),
        ("huge dims", request([input("images", "UINT8", [1 << 40, 1 << 40, 3, 3])], raw: [[]])),
        ("Int64.max dims", request([input("images", "UINT8", [Int64.max, Int64.max])], raw: [[]])),
        ("raw one byte short", request([input()], raw: [[UInt8](repeating: 0, count: 11)])),
        ("raw one byte long", request([input()], raw: [[UInt8](repeating: 0, count: 13)])),
        ("two raw for one input", request([input()], raw: [[UInt8](repeating: 0, count: 12), []])),
        ("no data", request([input()])),
        ("BYTES lying length", request([input("encoded", "BYTES", [1])], raw: [[9, 0, 0, 0, 1]])),
        ("BYTES cut length", request([input("encoded", "BYTES", [1])], raw: [[1, 0]])),
        ("BYTES two items for [1]", request([input("encoded", "BYTES", [1])], raw: [[0, 0, 0, 0, 0, 0, 0, 0]])),
        (
            "parameter without value",
            request([input()], raw: [[UInt8](repeating: 0, count: 12)], parameters: ["conf": .init()])
        ),
        (
            "uint64 parameter past Int",
            request(
                [input()], raw: [[UInt8](repeating: 0, count: 12)],
                parameters: ["max_det": .with { $0.uint64Param = .max }])
        ),
    ])
    func malformedRequestsAreRefusedWith400(_ what: String, _ message: Inference_ModelInferRequest) {
        #expect(Self.status(message) == 400, "\(what)")
    }

    @Test func typedContentsAreChecked() {
        func refused(_ datatype: String, _ shape: [Int64], _ fill: (inout Inference_InferTensorContents) -> Void)
            -> Bool
        {
            var tensor = Self.input("x", datatype, shape)
            fill(&tensor.contents)
            return Self.status(Self.request([tensor])) == 400
        }
        #expect(refused("UINT8", [2]) { $0.uintContents = [1, 256] }, "UINT8 out of range")
        #expect(refused("INT8", [1]) { $0.intContents = [-129] }, "INT8 out of range")
        #expect(refused("UINT16", [1]) { $0.uintContents = [70_000] }, "UINT16 out of range")
        #expect(refused("UINT8", [2]) { $0.intContents = [1, 2] }, "UINT8 in int_contents")
        #expect(refused("FP32", [2]) { $0.fp32Contents = [1] }, "one value for two")
        #expect(refused("FP32", [1]) { $0.fp32Contents = [1, 2] }, "two values for one")
        #expect(
            refused("FP32", [1]) {
                $0.fp32Contents = [1]
                $0.fp64Contents = [1]
            }, "two fields")
        #expect(refused("FP16", [1]) { $0.fp32Contents = [1] }, "FP16 has no typed field")
        #expect(refused("BF16", [1]) { $0.uintContents = [1] }, "BF16 has no typed field")
        #expect(refused("BOOL", [1]) { $0.boolContents = [] }, "no values")

        var both = Self.input()
        both.contents.uintContents = [UInt32](repeating: 0, count: 12)
        #expect(Self.status(Self.request([both], raw: [[UInt8](repeating: 0, count: 12)])) == 400, "raw and contents")

        var shared = Self.input()
        shared.parameters["shared_memory_region"] = .with { $0.stringParam = "r" }
        #expect(Self.status(Self.request([shared])) == 400, "shared memory")
    }

    @Test func responseCarriesTheRequestedOutputsRaw() throws {
        let outputs = [
            OutputTensor(name: "detections", shape: [1, 1, 6], values: .fp32([1, 2, 3, 4, 0.5, 1])),
            OutputTensor(name: "count", shape: [1], values: .int32([1])),
        ]
        var message = Self.request([Self.input()], raw: [[UInt8](repeating: 0, count: 12)])
        message.id = "x"
        let all = try GRPCInferResponse.response(
            model: "m-detect", request: try InferRequest(grpc: message), outputs: outputs)
        #expect(all.modelName == "m-detect" && all.modelVersion == "1" && all.id == "x")
        #expect(all.outputs.map(\.name) == ["detections", "count"])
        #expect(all.outputs.map(\.datatype) == ["FP32", "INT32"])
        #expect(all.outputs[0].shape == [1, 1, 6])
        #expect([UInt8](all.rawOutputContents[1]) == [1, 0, 0, 0])
        #expect([UInt8](all.rawOutputContents[0]) == TensorBytes.of([1, 2, 3, 4, 0.5, 1] as [Float]))

        message.outputs = [.with { $0.name = "count" }]
        let one = try GRPCInferResponse.response(
            model: "m-detect", request: try InferRequest(grpc: message), outputs: outputs)
        #expect(one.outputs.map(\.name) == ["count"] && one.rawOutputContents.count == 1)

        message.outputs = [.with { $0.name = "boxes" }]
        #expect(throws: ServeError.self) {
            try GRPCInferResponse.response(
                model: "m-detect", request: try InferRequest(grpc: message), outputs: outputs)
        }
    }

    @Test func serveErrorsMapToTritonsStatusCodes() {
        #expect(ServeError(400, "x").rpcError.code == .invalidArgument)
        #expect(ServeError(404, "x").rpcError.code == .notFound)
        #expect(ServeError(413, "x").rpcError.code == .resourceExhausted)
        #expect(ServeError(503, "x").rpcError.code == .unavailable)
        #expect(ServeError(500, "x").rpcError.code == .internalError)
        #expect(ServeError(400, "bad shape").rpcError.message == "bad shape")
    }
}
