/// A small, fast, reproducible random number generator (SplitMix64, Steele et al. 2014).
///
/// Used wherever results must be repeatable from a seed: the `random` pruning baseline,
/// calibration subsampling, and fuzz tests whose failures must reproduce.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly random byte.
    public mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    /// A value in `0..<bound` (bound > 0).
    public mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}
