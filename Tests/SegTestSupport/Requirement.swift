import Foundation
import Testing

/// Something a test needs that a fresh clone may lack: the daemon binaries `swift build` puts
/// beside the test bundle, or the data and models in `../shared`.
package struct Requirement: Sendable {
    /// What is needed, in words that say how to get it ("../shared/models/x.onnx").
    package var what: String
    package var isMet: @Sendable () -> Bool

    package init(_ what: String, isMet: @escaping @Sendable () -> Bool) {
        self.what = what
        self.isMet = isMet
    }
}

/// The error a gated test fails with under `CI=true` when its requirement is missing.
package struct MissingRequirement: Error, CustomStringConvertible {
    package var what: String
    package var description: String { "CI=true, and what this test needs is missing (a CI run must not skip it): \(what)" }
}

/// How tests read the environment they run in.
package enum TestEnvironment {
    /// `CI=true` (as `.ci/run` sets it): gated tests must run, so a missing requirement fails.
    package static var isCI: Bool {
        ProcessInfo.processInfo.environment["CI"].map { ["true", "1"].contains($0.lowercased()) } ?? false
    }

    /// Throws `MissingRequirement` when `requirement` is missing under `CI=true`; for tests that
    /// check inside their body (a loop over optional assets).
    package static func check(_ requirement: Requirement) throws -> Bool {
        if requirement.isMet() { return true }
        if isCI { throw MissingRequirement(what: requirement.what) }
        return false
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite when `requirement` is met. When it is not, the test is skipped on
    /// a developer's machine, and fails under `CI=true` (a condition that throws is recorded as
    /// an issue of the test, not as a skip).
    package static func requires(_ requirement: Requirement) -> Self {
        .enabled(Comment(rawValue: "needs \(requirement.what)")) { try TestEnvironment.check(requirement) }
    }
}
