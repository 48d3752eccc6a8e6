import Foundation

/// State shared by one model decode: where external data lives, and files already mapped.
final class DecodeContext {
    /// Folder of the model file; nil when decoding bytes that did not come from a file.
    let baseDirectory: URL?
    private var files: [String: Data] = [:]

    init(baseDirectory: URL?) {
        self.baseDirectory = baseDirectory?.standardizedFileURL
    }

    /// Reads `byteCount` bytes described by a tensor's `external_data` entries.
    ///
    /// `location` must stay inside the model's folder: absolute paths, `..` components and
    /// symlinks that resolve outside it are refused, so a model cannot make the daemon read
    /// arbitrary files.
    func externalData(tensor: String, entries: [String: String], byteCount: Int) throws(ONNXError) -> [UInt8] {
        let location = entries["location"] ?? ""
        func fail(_ message: String) -> ONNXError { .externalData(tensor: tensor, location: location, message: message) }

        guard !location.isEmpty else { throw fail("the 'location' entry is missing") }
        guard let baseDirectory else { throw fail("the model was not loaded from a file, so external data cannot be located") }
        guard !location.hasPrefix("/"), !location.hasPrefix("\\") else {
            throw fail("absolute locations are refused; it must be relative to the model's folder")
        }
        let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !components.contains("..") else { throw fail("locations containing '..' are refused") }

        let url = baseDirectory.appendingPathComponent(location).standardizedFileURL
        let resolvedBase = baseDirectory.resolvingSymlinksInPath().path
        let resolved = url.resolvingSymlinksInPath().path
        guard resolved.hasPrefix(resolvedBase.hasSuffix("/") ? resolvedBase : resolvedBase + "/") else {
            throw fail("it resolves to '\(resolved)', outside the model's folder '\(resolvedBase)'")
        }

        let data: Data
        if let cached = files[resolved] {
            data = cached
        } else {
            guard FileManager.default.fileExists(atPath: resolved) else { throw fail("file not found at '\(url.path)'") }
            do { data = try Data(contentsOf: URL(fileURLWithPath: resolved), options: .alwaysMapped) } catch {
                throw fail("cannot read: \(error.localizedDescription)")
            }
            files[resolved] = data
        }

        func number(_ key: String) throws(ONNXError) -> Int? {
            guard let text = entries[key] else { return nil }
            guard let value = Int(text), value >= 0 else { throw fail("'\(key)' is '\(text)', not a non-negative integer") }
            return value
        }
        let offset = try number("offset") ?? 0
        let length = try number("length") ?? byteCount
        guard length == byteCount else { throw fail("length \(length) does not match the \(byteCount) bytes the tensor's dims need") }
        guard offset <= data.count, length <= data.count - offset else {
            throw fail("\(length) bytes at offset \(offset) run past the end of the \(data.count)-byte file")
        }
        return [UInt8](data[data.startIndex + offset ..< data.startIndex + offset + length])
    }
}
