import Testing
@testable import KubeCore

@Test("placeholder") func placeholder() {}
