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

    /// A byte-sized value (u8/i8): it lives in the float arena at a float offset, rounded up to
    /// whole floats, so one liveness plan covers both.
    @inline(__always)
    func bytes(_ slot: Slot) -> UnsafeMutablePointer<UInt8> {
        UnsafeMutableRawPointer(floats + slot.offset).assumingMemoryBound(to: UInt8.self)
    }
}

/// Where a planned value lives in the arena: `count` elements of `dtype` (f32, or a byte
/// type: u8/i8) from float offset `offset`.
struct Slot: Sendable, Equatable {
    var offset: Int
    var count: Int
    var dims: [Int]
    var dtype: DType = .f32

    /// Floats the value occupies, plus 16 bytes of slack after byte values so INT8 kernels
    /// may read a few bytes past the last element (their weights there are zero).
    static func floats(count: Int, dtype: DType) -> Int {
        dtype == .f32 ? count : (count * dtype.byteSize + 3) / 4 + 4
    }

    /// The value as a tensor (one copy, straight into the tensor's bytes: a segmentation
    /// output is megabytes, and each extra copy shows on the segment path).
    func tensor(in arena: Arena) throws -> Tensor {
        let start = dtype == .f32 ? UnsafeRawPointer(arena.pointer(self)) : UnsafeRawPointer(arena.bytes(self))
        let bytes = Array(UnsafeRawBufferPointer(start: start, count: count * dtype.byteSize))
        return try Tensor(dtype: dtype, shape: Shape(dims), bytes: bytes)
    }

    /// Copies `t` (of this slot's dtype and size) into the arena.
    func store(_ t: Tensor, in arena: Arena) throws {
        try t.bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            UnsafeMutableRawPointer(arena.pointer(self)).copyMemory(from: base, byteCount: min(raw.count, count * dtype.byteSize))
        }
    }
}
