import Testing
@testable import LookoutPipeline
