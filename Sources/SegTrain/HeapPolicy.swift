#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A training step allocates and frees the same large activation buffers every step. glibc
/// hands blocks over its mmap threshold back to the kernel on free and takes fresh, zeroed
/// pages on the next allocation: a profile of a step showed a sixth of its time in the kernel
/// clearing pages. While any training runs, big blocks stay in the heap for reuse; when the
/// last one ends the heap is trimmed, so a daemon that trained once does not keep the memory.
package enum HeapPolicy {
    /// Trainings running now (the setting is process-wide; two runs may overlap).
    private static let running = Mutex(0)

    package static func beginTraining() {
        running.withLock { count in
            count += 1
            #if canImport(Glibc)
            if count == 1 {
                _ = mallopt(mmapThreshold, 1 << 30)
                _ = mallopt(trimThreshold, Int32.max)
            }
            #endif
        }
    }

    package static func endTraining() {
        running.withLock { count in
            count -= 1
            #if canImport(Glibc)
            if count == 0 {
                _ = mallopt(trimThreshold, 128 * 1024)
                _ = trimHeap(0)
            }
            #endif
        }
    }
}

#if canImport(Glibc)
/// malloc.h's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD (the Glibc module does not export them).
private let trimThreshold: Int32 = -1
private let mmapThreshold: Int32 = -3

/// glibc's `malloc_trim` and `mallopt`, declared in malloc.h.
@_silgen_name("malloc_trim")
private func trimHeap(_ pad: Int) -> Int32
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
