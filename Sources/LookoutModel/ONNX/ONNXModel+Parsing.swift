extension ONNXModel {
    /// Reads a model from its file, memory-mapped. Errors carry the path.
    package init(contentsOfFile path: String) throws(ModelError) {
        let bytes = try ModelBytes(mappingFile: path)
        do {
            try self.init(bytes: bytes)
        } catch {
            throw error.inFile(path)
        }
    }

    /// Parses `ModelProto` from `bytes`; initializer payloads keep referring to `bytes`.
    package init(bytes: ModelBytes) throws(ModelError) {
        self.init()
        try bytes.withBytes { (buffer) throws(ModelError) in
            var reader = ProtobufReader(buffer)
            var sawGraph = false
            while let field = try reader.next() {
                switch field.number {
                case 1: irVersion = Int64(bitPattern: field.scalar)
                case 2: producerName = try reader.string(field)
                case 3: producerVersion = try reader.string(field)
                case 7:
                    var sub = try reader.message(field)
                    graph = try ONNXGraph.parse(&sub, bytes: bytes)
                    sawGraph = true
                case 8:
                    var sub = try reader.message(field)
                    var domain = ""
                    var version: Int64 = 0
                    while let f = try sub.next() {
                        if f.number == 1 { domain = try sub.string(f) }
                        if f.number == 2 { version = Int64(bitPattern: f.scalar) }
                    }
                    opsets[domain] = version
                case 14:
                    var sub = try reader.message(field)
                    let (key, value) = try ONNXModel.parseEntry(&sub)
                    metadata[key] = value
                default: break
                }
            }
            guard sawGraph else { throw .malformed("no graph (is this an ONNX file?)") }
            guard irVersion > 0 else { throw .malformed("no IR version (is this an ONNX file?)") }
        }
    }

    static func parseEntry(_ reader: inout ProtobufReader) throws(ModelError) -> (String, String) {
        var key = ""
        var value = ""
        while let f = try reader.next() {
            if f.number == 1 { key = try reader.string(f) }
            if f.number == 2 { value = try reader.string(f) }
        }
        return (key, value)
    }
}

extension ONNXGraph {
    static func parse(_ reader: inout ProtobufReader, bytes: ModelBytes) throws(ModelError) -> ONNXGraph {
        var graph = ONNXGraph()
        while let field = try reader.next() {
            switch field.number {
            case 1:
                var sub = try reader.message(field)
                graph.nodes.append(try ONNXNode.parse(&sub, bytes: bytes))
            case 2: graph.name = try reader.string(field)
            case 5:
                var sub = try reader.message(field)
                graph.initializers.append(try ONNXTensor.parse(&sub, bytes: bytes))
            case 11:
                var sub = try reader.message(field)
                graph.inputs.append(try ONNXValueInfo.parse(&sub))
            case 12:
                var sub = try reader.message(field)
                graph.outputs.append(try ONNXValueInfo.parse(&sub))
            case 15:
                throw .unsupported("sparse initializers are not supported")
            default: break
            }
        }
        return graph
    }
}

extension ONNXNode {
    static func parse(_ reader: inout ProtobufReader, bytes: ModelBytes) throws(ModelError) -> ONNXNode {
        var node = ONNXNode()
        while let field = try reader.next() {
            switch field.number {
            case 1: node.inputs.append(try reader.string(field))
            case 2: node.outputs.append(try reader.string(field))
            case 3: node.name = try reader.string(field)
            case 4: node.opType = try reader.string(field)
            case 7: node.domain = try reader.string(field)
            case 5:
                var sub = try reader.message(field)
                let (name, attribute) = try ONNXAttribute.parse(&sub, bytes: bytes)
                node.attributes[name] = attribute
            default: break
            }
        }
        return node
    }
}

extension ONNXAttribute {
    static func parse(_ reader: inout ProtobufReader, bytes: ModelBytes) throws(ModelError) -> (String, ONNXAttribute) {
        var name = ""
        var type: UInt64 = 0
        var f: Float = 0
        var i: Int64 = 0
        var s = ""
        var t: ONNXTensor?
        var floats: [Float] = []
        var ints: [Int64] = []
        var strings: [String] = []
        while let field = try reader.next() {
            switch field.number {
            case 1: name = try reader.string(field)
            case 20: type = field.scalar
            case 2:
                guard field.wireType == .fixed32 else { throw .malformed("attribute float has wrong wire type") }
                f = Float(bitPattern: UInt32(truncatingIfNeeded: field.scalar))
            case 3: i = Int64(bitPattern: field.scalar)
            case 4: s = try reader.string(field)
            case 5:
                var sub = try reader.message(field)
                t = try ONNXTensor.parse(&sub, bytes: bytes)
            case 7: try reader.appendFloats(field, to: &floats)
            case 8: try reader.appendInt64s(field, to: &ints)
            case 9: strings.append(try reader.string(field))
            default: break
            }
        }
        // AttributeType values from onnx.proto: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7,
        // STRINGS 8, TENSORS 9, GRAPHS 10, SPARSE_TENSOR 11, SPARSE_TENSORS 12, TYPE_PROTO 13, TYPE_PROTOS 14.
        switch type {
        case 1: return (name, .float(f))
        case 2: return (name, .int(i))
        case 3: return (name, .string(s))
        case 4:
            guard let t else { throw .malformed("tensor attribute '\(name)' has no tensor") }
            return (name, .tensor(t))
        case 6: return (name, .floats(floats))
        case 7: return (name, .ints(ints))
        case 8: return (name, .strings(strings))
        case 5, 9, 10, 11, 12, 13, 14: return (name, .unsupported("attribute type \(type)"))
        default: throw .malformed("attribute '\(name)' has unknown type \(type)")
        }
    }
}

extension ONNXValueInfo {
    static func parse(_ reader: inout ProtobufReader) throws(ModelError) -> ONNXValueInfo {
        var info = ONNXValueInfo()
        while let field = try reader.next() {
            switch field.number {
            case 1: info.name = try reader.string(field)
            case 2:
                var type = try reader.message(field)
                while let tf = try type.next() {
                    guard tf.number == 1 else { continue }
                    var tensorType = try type.message(tf)
                    while let ttf = try tensorType.next() {
                        if ttf.number == 1 { info.elementType = Int32(truncatingIfNeeded: ttf.scalar) }
                        if ttf.number == 2 {
                            var shape = try tensorType.message(ttf)
                            var dims: [Dimension] = []
                            while let dimField = try shape.next() {
                                guard dimField.number == 1 else { continue }
                                var dim = try shape.message(dimField)
                                var value = Dimension.symbolic("?")
                                while let df = try dim.next() {
                                    if df.number == 1 { value = .fixed(Int64(bitPattern: df.scalar)) }
                                    if df.number == 2 { value = .symbolic(try dim.string(df)) }
                                }
                                dims.append(value)
                            }
                            info.shape = dims
                        }
                    }
                }
            default: break
            }
        }
        return info
    }
}

extension ONNXTensor {
    static func parse(_ reader: inout ProtobufReader, bytes: ModelBytes) throws(ModelError) -> ONNXTensor {
        var tensor = ONNXTensor()
        tensor.bytes = bytes
        var floats: [Float] = []
        var int32s: [Int64] = []
        var int64s: [Int64] = []
        var doubles: [Double] = []
        var uint64s: [Int64] = []
        var raw: Range<Int>?
        var external = false
        while let field = try reader.next() {
            switch field.number {
            case 1: try reader.appendInt64s(field, to: &tensor.dims)
            case 2: tensor.dataType = Int32(truncatingIfNeeded: field.scalar)
            case 4: try reader.appendFloats(field, to: &floats)
            case 5: try reader.appendInt64s(field, to: &int32s)
            case 7: try reader.appendInt64s(field, to: &int64s)
            case 8: tensor.name = try reader.string(field)
            case 9:
                guard field.wireType == .lengthDelimited else { throw .malformed("raw_data has wrong wire type") }
                raw = field.range
            case 10: try reader.appendDoubles(field, to: &doubles)
            case 11: try reader.appendInt64s(field, to: &uint64s)
            case 14: external = field.scalar == 1
            default: break
            }
        }
        if external {
            tensor.payload = .external
        } else if let raw {
            tensor.payload = .raw(raw)
        } else if !floats.isEmpty {
            tensor.payload = .floats(floats)
        } else if !int32s.isEmpty {
            tensor.payload = .int32s(int32s)
        } else if !int64s.isEmpty {
            tensor.payload = .int64s(int64s)
        } else if !doubles.isEmpty {
            tensor.payload = .doubles(doubles)
        } else if !uint64s.isEmpty {
            tensor.payload = .uint64s(uint64s)
        }
        return tensor
    }
}
