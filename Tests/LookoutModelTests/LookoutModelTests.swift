import Testing
@testable import LookoutModel
