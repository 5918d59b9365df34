import Testing

@testable import LookoutBench

@Suite struct AllocationCountTests {
    @Test func lookoutsShareIsTheTotalLessTheDrivers() {
        let report = AllocationCount(total: 100, driver: 40).report(
            until: AllocationCount(total: 170, driver: 90), frames: 10)
        #expect(report.driver == 50)
        #expect(report.ours == 20)
        #expect(report.perFrame(report.ours) == 2)
    }

    @Test func aDriverAllocationBetweenTheTwoReadsDoesNotUnderflow() {
        // `self`'s total was read after a driver allocation that its driver count missed: the window saw one more
        // driver allocation than total ones. The report says 0 of Lookout's, not a wrapped-around count.
        let report = AllocationCount(total: 101, driver: 40).report(
            until: AllocationCount(total: 105, driver: 45), frames: 10)
        #expect(report.ours == 0)
        #expect(report.driver == 5)
    }
}
