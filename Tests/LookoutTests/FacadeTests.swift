import Lookout
import LookoutTestFixtures
import Testing

/// `import Lookout` alone is enough to detect on an image.
@Suite struct FacadeTests {
    @Test func detectsOnTheEmbeddedSampleThroughTheFacade() throws {
        let detector = try Detector(model: DetectionModel(path: Fixtures.staticModel), device: .cpu)
        var image = BGRImage()
        var decoder = ImageDecoder()
        try decoder.decode(file: Fixtures.repository + "/Models/sample.jpg", into: &image)
        let result = try detector.detect(image)
        #expect(result.detections.count == 4)
    }
}
