/// A value of the graph being built together with its channel count, so blocks can be chained
/// without re-deriving shapes.
struct Feature: Sendable, Equatable {
    var name: String
    var channels: Int
}

/// torchvision's `_make_divisible`: round `value` to the nearest multiple of `divisor`, at
/// least `divisor`, and never more than 10% below `value`. GhostNet uses it with divisor 4.
func makeDivisible(_ value: Double, _ divisor: Int = 8) -> Int {
    let d = Double(divisor)
    var rounded = max(divisor, Int(value + d / 2) / divisor * divisor)
    if Double(rounded) < 0.9 * value { rounded += divisor }
    return rounded
}
