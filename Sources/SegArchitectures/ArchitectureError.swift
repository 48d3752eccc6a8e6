/// Why a student could not be built; each names the field at fault.
package enum ArchitectureError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownArchitecture(String)
    case classes(Int)
    case width(Double, Architecture)
    case inputSize(Int, Int)

    package static let maximumClasses = 4096

    package var description: String {
        switch self {
        case .unknownArchitecture(let name):
            "arch: unknown architecture '\(name)'; known: \(Architecture.names.joined(separator: ", "))"
        case .classes(let n):
            "classes: \(n) is out of range 1...\(Self.maximumClasses)"
        case .width(let w, let arch):
            arch.widthRange.lowerBound == arch.widthRange.upperBound
                ? "width: \(arch.rawValue) has no width multiplier (its width is in its name); got \(w)"
                : "width: \(w) is out of range \(arch.widthRange.lowerBound)...\(arch.widthRange.upperBound) for \(arch.rawValue)"
        case .inputSize(let h, let w):
            "inputSize: \(h)×\(w) is out of range; height and width must be 32...8192"
        }
    }
}
