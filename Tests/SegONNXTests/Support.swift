import Foundation
import SegTensor
@testable import SegONNX

enum Fixtures {
    /// The copied `Fixtures` folder inside the test bundle.
    static var folder: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw ONNXError.io(path: "Fixtures", message: "resource folder missing from the test bundle")
            }
            return url
        }
    }

    static func url(_ name: String) throws -> URL { try folder.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    static func npy(_ name: String) throws -> Tensor { try Tensor(contentsOfNPY: url(name)) }
}

/// Runs `body` and returns the ONNXError it throws, or nil.
func onnxError(_ body: () throws -> Void) -> ONNXError? {
    do {
        try body()
        return nil
    } catch let error as ONNXError {
        return error
    } catch {
        return .invalidModel("unexpected error type: \(error)")
    }
}

/// A fresh temporary folder, removed by the caller.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("segonnx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
