import Testing
@testable import LookoutMedia
