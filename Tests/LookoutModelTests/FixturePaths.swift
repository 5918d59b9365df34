// The fixture paths and the export matrix of every test target (Tests/LookoutTestFixtures).
@_exported import LookoutTestFixtures
