import SegAutodiff
import SegGraph
import Testing

/// Building a training program for `model` must fail with an error whose message contains
/// `fragment` (the attribute or input the rule names), not merely fail.
func expectRefusal(_ model: Model, trainable: [String] = ["x"], mentioning fragment: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let error = #expect(throws: AutodiffError.self, sourceLocation: sourceLocation) {
        _ = try TrainingProgram(model: model, inputShapes: [:], trainable: trainable)
    }
    if let error { #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation) }
}
