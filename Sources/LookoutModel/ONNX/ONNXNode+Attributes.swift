extension ONNXNode {
    /// `op 'Conv' (node '/model.0/conv/Conv')`, the way messages name a node.
    var label: String { "operator '\(opType)' (node '\(name.isEmpty ? (outputs.first ?? "?") : name)')" }

    func int(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
        switch attributes[key] {
        case .int(let v)?:
            guard let i = Int(exactly: v) else { throw .invalid("\(label): attribute '\(key)' is out of range") }
            return i
        case nil:
            guard let value else { throw .invalid("\(label): attribute '\(key)' is required") }
            return value
        default: throw .invalid("\(label): attribute '\(key)' must be an integer")
        }
    }

    func ints(_ key: String) throws(ModelError) -> [Int]? {
        switch attributes[key] {
        case .ints(let v)?:
            var result: [Int] = []
            for x in v {
                guard let i = Int(exactly: x), abs(i) < (1 << 40) else {
                    throw .invalid("\(label): attribute '\(key)' holds \(x), out of range")
                }
                result.append(i)
            }
            return result
        case nil: return nil
        default: throw .invalid("\(label): attribute '\(key)' must be a list of integers")
        }
    }

    func float(_ key: String) throws(ModelError) -> Float? {
        switch attributes[key] {
        case .float(let v)?: return v
        case nil: return nil
        default: throw .invalid("\(label): attribute '\(key)' must be a float")
        }
    }

    func string(_ key: String, default value: String) throws(ModelError) -> String {
        switch attributes[key] {
        case .string(let v)?: return v
        case nil: return value
        default: throw .invalid("\(label): attribute '\(key)' must be a string")
        }
    }

    func tensor(_ key: String) throws(ModelError) -> TensorValue? {
        switch attributes[key] {
        case .tensor(let t)?: return try t.value(context: "\(label) attribute '\(key)'")
        case nil: return nil
        default: throw .invalid("\(label): attribute '\(key)' must be a tensor")
        }
    }

    /// The largest kernel, stride, dilation or pad accepted: far above any real model, small enough that output-size
    /// arithmetic (dilation × kernel, out × stride) cannot overflow.
    var maxSpatial: Int { 1 << 20 }

    /// Two spatial values from a list attribute (kernel, strides, dilations).
    func pair(_ key: String, default value: Int) throws(ModelError) -> (Int, Int) {
        guard let list = try ints(key) else { return (value, value) }
        guard list.count == 2 else {
            throw .unsupported("\(label): only 2-D is supported, '\(key)' has \(list.count) values")
        }
        guard list[0] > 0, list[1] > 0 else { throw .invalid("\(label): '\(key)' must be positive") }
        guard list[0] <= maxSpatial, list[1] <= maxSpatial else {
            throw .invalid("\(label): '\(key)' \(list) is out of range")
        }
        return (list[0], list[1])
    }

    func pads() throws(ModelError) -> (top: Int, left: Int, bottom: Int, right: Int) {
        guard let list = try ints("pads") else { return (0, 0, 0, 0) }
        guard list.count == 4 else {
            throw .unsupported("\(label): only 2-D is supported, 'pads' has \(list.count) values")
        }
        guard list.allSatisfy({ $0 >= 0 }) else { throw .invalid("\(label): negative pads") }
        guard list.allSatisfy({ $0 <= maxSpatial }) else { throw .invalid("\(label): pads \(list) are out of range") }
        return (list[0], list[1], list[2], list[3])
    }
}
