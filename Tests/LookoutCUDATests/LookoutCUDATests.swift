import Testing
@testable import LookoutCUDA
