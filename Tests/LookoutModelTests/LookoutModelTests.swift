import Testing

@testable import LookoutModel

@Suite struct DetectionModelLoadingTests {
    @Test(arguments: Fixtures.allModels)
    func fixtureModelsLoadWithUltralyticsMetadata(path: String) throws {
        let model = try DetectionModel(path: path)
        #expect(model.classNames == ["circle", "square", "triangle", "star"])
        #expect(model.metadata.stride == 32)
        #expect(model.defaultImageSize == (640, 640))
        #expect(model.classCount == 4)
        let plan = try model.plan(forInputShape: [1, 3, 640, 640])
        #expect(plan.graph.shape(plan.graph.outputs[0]) == [1, 8, 8400])
        let counts = Dictionary(uniqueKeysWithValues: plan.graph.operatorCounts())
        print(path, counts, plan.steps.count, plan.viewNodes, plan.arenaElements * 4, plan.unplannedElements * 4)
        #expect(counts["ConvSiLU", default: 0] + counts["ConvSiLUAdd", default: 0] == 57)
        #expect(counts["Sigmoid"] == 1)
    }
}
