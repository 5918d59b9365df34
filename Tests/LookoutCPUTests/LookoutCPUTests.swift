import Testing

@testable import LookoutCPU
