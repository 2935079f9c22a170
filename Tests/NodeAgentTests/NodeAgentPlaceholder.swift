import Testing
@testable import NodeAgent
