import Testing
@testable import YAML

@Test("placeholder") func placeholder() {}
