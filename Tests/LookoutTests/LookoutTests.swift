import Testing
@testable import Lookout
