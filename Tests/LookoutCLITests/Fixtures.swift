@_exported import LookoutTestFixtures
