import SegTensor
import Foundation
import SegTestSupport
import Testing
@testable import SegImaging

/// Fixture access and small helpers shared by the SegImaging tests.
enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let base = Bundle.module.resourceURL else { throw FixtureMissing(name: name) }
        return base.appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(name)))
    }

    /// The fixture manifest written by tools/fixtures/make_imaging_fixtures.py.
    static func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: url("manifest.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// A section's entries; a missing or empty section throws, so a loop over it cannot pass
    /// by running zero times.
    static func entries(_ section: String) throws -> [[String: Any]] {
        guard let entries = try manifest()[section] as? [[String: Any]], !entries.isEmpty else {
            throw FixtureMissing(name: "manifest.json section \(section)")
        }
        return entries
    }

    /// The manifest's `camvid` entry (a real frame and label checked in as fixtures).
    static func camvid() throws -> (image: String, imageExpected: String, label: String, labelExpected: String, width: Int, height: Int) {
        guard let cam = try manifest()["camvid"] as? [String: Any], let image = cam["image"] as? String,
              let imageExpected = cam["image_expected"] as? String, let label = cam["label"] as? String,
              let labelExpected = cam["label_expected"] as? String, let width = cam["width"] as? Int, let height = cam["height"] as? Int else {
            throw FixtureMissing(name: "manifest.json section camvid")
        }
        return (image, imageExpected, label, labelExpected, width, height)
    }
}

struct FixtureMissing: Error { let name: String }

/// Mean and max absolute difference between two equally sized sample arrays.
func absDiff(_ a: [UInt8], _ b: [UInt8]) -> (mean: Double, max: Int) {
    var sum = 0, mx = 0
    for i in 0..<min(a.count, b.count) {
        let d = abs(Int(a[i]) - Int(b[i]))
        sum += d
        mx = max(mx, d)
    }
    return (Double(sum) / Double(max(1, a.count)), mx)
}

/// CamVid in ../shared (or $SEGSLIM_CAMVID).
let camvidRoot = ProcessInfo.processInfo.environment["SEGSLIM_CAMVID"] ?? SharedAssets.path("data/camvid")
let camvid = Requirement(camvidRoot + "/val.txt") { FileManager.default.fileExists(atPath: camvidRoot + "/val.txt") }
var camvidAvailable: Bool { camvid.isMet() }
