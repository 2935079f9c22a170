import Testing
@testable import EngineBuilder
