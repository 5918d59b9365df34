import LookoutCore
import LookoutTestFixtures
import Testing

@testable import LookoutServer

@Suite struct InferRequestTests {
    static func body(_ json: String, _ binary: [UInt8] = []) -> [UInt8] { Array(json.utf8) + binary }

    static func status(_ body: [UInt8], headerLength: String? = nil) -> Int? {
        do {
            _ = try InferRequest(body: body, headerLength: headerLength)
            return nil
        } catch {
            return error.status
        }
    }

    @Test func nestedJSONDataBecomesLittleEndianBytes() throws {
        let request = try InferRequest(
            body: Self.body(
                #"{"id":"a","inputs":[{"name":"x","datatype":"INT32","shape":[2,2],"data":[[1,-2],[3,256]]}]}"#),
            headerLength: nil)
        #expect(request.id == "a")
        #expect(request.inputs[0].raw == [1, 0, 0, 0, 254, 255, 255, 255, 3, 0, 0, 0, 0, 1, 0, 0])
        #expect(request.outputs == nil)
    }

    @Test func binarySectionsFollowTheHeaderInInputOrder() throws {
        let json =
            #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":3}},"#
            + #"{"name":"b","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}}],"#
            + #""outputs":[{"name":"count","parameters":{"binary_data":true}}]}"#
        let binary: [UInt8] = [7, 8, 9] + [2, 0, 0, 0, 65, 66] + [1, 0, 0, 0, 67]
        let request = try InferRequest(body: Self.body(json, binary), headerLength: String(json.utf8.count))
        #expect(request.inputs[0].raw == [7, 8, 9])
        #expect(request.inputs[1].items == [[65, 66], [67]])
        #expect(request.outputs?.first?.binary == true)
    }

    @Test(arguments: [
        // a binary_data_size past the bytes sent, short of the shape, or leaving bytes over
        (#"{"inputs":[{"name":"a","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":4}}]}"#, 3),
        (#"{"inputs":[{"name":"a","datatype":"UINT8","shape":[4],"parameters":{"binary_data_size":3}}]}"#, 3),
        (#"{"inputs":[{"name":"a","datatype":"UINT8","shape":[2],"parameters":{"binary_data_size":2}}]}"#, 3),
        (#"{"inputs":[{"name":"a","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":-1}}]}"#, 3),
        (#"{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":3}}]}"#, 3),
        // a BYTES element whose length runs past the section
        (#"{"inputs":[{"name":"a","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":3}}]}"#, 3),
    ])
    func lyingSizesAreRefused(json: String, sent: Int) {
        let binary = [UInt8](repeating: 9, count: sent)
        #expect(Self.status(Self.body(json, binary), headerLength: String(json.utf8.count)) == 400)
    }

    @Test(arguments: [
        #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[3],"data":[1,2]}]}"#,
        #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[1],"data":[256]}]}"#,
        #"{"inputs":[{"name":"a","datatype":"UINT9","shape":[1],"data":[1]}]}"#,
        #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[-1],"data":[]}]}"#,
        #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[4611686018427387904,4],"data":[1]}]}"#,
        #"{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":["x"]}]}"#,
        #"{"inputs":[]}"#, #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[1]}]}"#, "[]", "{", "",
        String(repeating: "[", count: 70),
    ])
    func malformedHeadersAreRefused(json: String) {
        #expect(Self.status(Self.body(json)) == 400)
    }

    @Test(arguments: ["-1", "999999", "x", ""])
    func headerLengthMustFallWithinTheBody(length: String) {
        #expect(Self.status(Self.body(#"{"inputs":[]}"#), headerLength: length) == 400)
    }

    @Test func detectParametersTakeUltralyticsDefaults() throws {
        let defaults = try ModelRunner.detectOptions(nil)
        #expect(defaults.confidence == 0.25 && defaults.iou == 0.7 && defaults.maxDetections == 300)
        let set = try ModelRunner.detectOptions(
            try JSONValue.parse(#"{"conf":0.5,"iou":"0.6","max_det":7,"classes":"0,2"}"#))
        #expect(set.confidence == 0.5 && set.iou == 0.6 && set.maxDetections == 7 && set.classes == [0, 2])
        for bad in [#"{"conf":2}"#, #"{"max_det":0}"#, #"{"max_det":1e9}"#, #"{"classes":[-1]}"#] {
            #expect(throws: ServeError.self) { try ModelRunner.detectOptions(try JSONValue.parse(bad)) }
        }
    }
}
