import Testing
@testable import LookoutYOLO
