import LookoutBench
import LookoutCore
import LookoutInference
import LookoutPipeline
import LookoutTestSupport

/// Named checks that print `PASS name` or `FAIL name: why` and count them: what the GPU self-tests
/// (`lookout selftest --gpu`) are made of.
open class SelftestChecks {
    package private(set) var passed = 0
    package private(set) var failed = 0
    package let log: (String) -> Void

    package init(log: @escaping (String) -> Void) { self.log = log }

    /// Runs one check: `body` returning nil passes; a returned reason or a thrown error fails with that reason.
    package func check(_ name: String, _ body: () throws -> String?) {
        do {
            if let problem = try body() {
                fail("\(name): \(problem)")
            } else {
                passed += 1
                log("PASS \(name)")
            }
        } catch {
            fail("\(name): \(error)")
        }
    }

    /// Counts and prints a failure (`FAIL` + `line`), e.g. of a check that could not even start.
    package func fail(_ line: String) {
        failed += 1
        log("FAIL " + line)
    }
}
