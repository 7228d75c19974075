import Foundation
import NightjarCore

/// `nightjar doctor`
enum DoctorCommand {
    static func run(_ invocation: Invocation) async throws -> ExitStatus { .ok }
}

/// `nightjar demo`
enum DemoCommand {
    static func run(_ invocation: Invocation) async throws -> ExitStatus { .ok }
}
