import Foundation
import SegGraph
import SegTensor

/// What to build: an architecture, its class count and width, the input it takes, and the seed
/// its weights are drawn from. The same spec always writes the same bytes.
package struct StudentSpec: Sendable, Equatable {
    /// The image input's height and width, or `nil` for symbolic `N×3×H×W`.
    package enum Input: Sendable, Equatable {
        case fixed(height: Int, width: Int)
        case dynamic
    }

    package var architecture: Architecture
    package var classes: Int
    package var width: Double
    package var input: Input
    package var seed: UInt64
    /// Extra `metadata_props` (`segslim.*` preprocessing, provenance), written as given.
    package var metadata: [String: String]

    package static let defaultInput = Input.fixed(height: 360, width: 480)

    package init(architecture: Architecture, classes: Int, width: Double = 1, input: Input = defaultInput, seed: UInt64 = 0,
                 metadata: [String: String] = [:]) {
        self.architecture = architecture
        self.classes = classes
        self.width = width
        self.input = input
        self.seed = seed
        self.metadata = metadata
    }

    package func validate() throws(ArchitectureError) {
        guard (1...ArchitectureError.maximumClasses).contains(classes) else { throw .classes(classes) }
        guard width.isFinite, architecture.widthRange.contains(width) else { throw .width(width, architecture) }
        if case .fixed(let h, let w) = input, !(32...8192).contains(h) || !(32...8192).contains(w) { throw .inputSize(h, w) }
    }
}
