import Testing
@testable import DriftStatistics

@Test("placeholder") func placeholder() {}
