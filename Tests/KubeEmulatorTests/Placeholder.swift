import Testing
@testable import KubeEmulator

@Test("placeholder") func placeholder() {}
