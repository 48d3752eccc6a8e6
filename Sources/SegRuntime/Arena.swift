import SegTensor

/// The memory one run of a compiled model works in: every planned f32 value at its offset in
/// one allocation, plus a few unplanned tensors (non-f32 values, fallback outputs). An arena is
/// reused run after run, so a warm run allocates nothing large.
final class Arena: @unchecked Sendable {
    let floats: UnsafeMutablePointer<Float>
    let count: Int
    /// Values not in the float plan (i64 indices, bool masks, ...), by name.
    var tensors: [String: Tensor] = [:]

    init(floatCount: Int) {
        count = max(floatCount, 16)
        floats = UnsafeMutablePointer<Float>.allocate(capacity: count)
        floats.initialize(repeating: 0, count: count)
    }

    deinit { floats.deallocate() }

    @inline(__always)
    func pointer(_ slot: Slot) -> UnsafeMutablePointer<Float> { floats + slot.offset }
}

/// Where a planned value lives in the arena.
struct Slot: Sendable, Equatable {
    var offset: Int
    var count: Int
    var dims: [Int]
}
