import Foundation

/// Reads a file descriptor on its own thread and hands every chunk to a callback, then
/// `nil` at end of input (or on a read error). Blocking reads on a dedicated thread keep the
/// cooperative pool free and cost nothing while the connection is idle.
package enum FileDescriptorReader {
    package static func start(fd: Int32, chunkSize: Int = 1 << 16, name: String = "segslim.reader",
                             _ onChunk: @escaping @Sendable ([UInt8]?) -> Void) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunkSize) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                onChunk(Array(buffer[0..<n]))
            }
            onChunk(nil)
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }
}
