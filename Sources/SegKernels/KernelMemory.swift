// Bytes each pre-packed kernel keeps for its lifetime (packed weights, bias, index tables), so
// the runtime can charge a compiled plan against the daemon's memory budget. Counted from the
// stored arrays themselves (element count × element size), not from capacity, and without
// object headers: a lower bound that stays close for the large tensors that matter.

extension PackedMatrix {
    /// The packed panels: `paddedOuter × depth` floats.
    package var heldBytes: Int { paddedOuter * depth * MemoryLayout<Float>.size }
}

extension Conv2D {
    package var heldBytes: Int {
        packedGroups.reduce(0) { $0 + $1.heldBytes }
            + rowBands.reduce(0) { $0 + $1.packed.heldBytes }
            + (winograd?.heldBytes ?? 0)
            + (depthwiseWeights.count + matvecWeights.count + avx512Weights.count + (bias?.count ?? 0)) * MemoryLayout<Float>.size
            + (directOffsets.count + (parityPlanes?.offsets.count ?? 0)) * MemoryLayout<Int>.size
    }
}

extension WinogradConv3x3 {
    package var heldBytes: Int {
        transformed.reduce(0) { $0 + $1.heldBytes } + rowOffsets.count * MemoryLayout<Int>.size
    }
}

extension ConvTranspose2D {
    package var heldBytes: Int {
        packedGroups.reduce(0) { $0 + $1.heldBytes } + (bias?.count ?? 0) * MemoryLayout<Float>.size
    }
}

extension QPackedWeights {
    package var heldBytes: Int { panels.count + weights.count + rowSums.count * MemoryLayout<Int32>.size }
}

extension QRequantization {
    package var heldBytes: Int { bias.count * MemoryLayout<Int32>.size + multiplier.count * MemoryLayout<Float>.size }
}

extension QConv2D {
    package var heldBytes: Int {
        let depthwiseBytes = depthwise.map {
            $0.values.count * MemoryLayout<Int32>.size + ($0.pairs.count + $0.singles.count) * MemoryLayout<Int16>.size
        } ?? 0
        return (packed?.heldBytes ?? 0) + depthwiseBytes + requantization.heldBytes
    }
}
