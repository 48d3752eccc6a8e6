import Testing

/// The fixture manifest drives parameterized tests and loops: a section that went missing
/// would make them run zero cases and pass, so the counts are pinned here
/// (tools/fixtures/make_imaging_fixtures.py writes them).
@Suite struct ManifestTests {
    @Test func everySectionHasItsFixtures() throws {
        let counts = ["png": 30, "jpeg": 26, "jpeg_bad": 3, "resize": 12, "overlay": 2, "zlib": 12, "deflate_ratio": 1]
        for (section, count) in counts {
            #expect(try Fixtures.entries(section).count == count, "\(section)")
        }
        #expect(PNGTests.fixtureNames().count == 30 && JPEGTests.fixtureNames().count == 26)
        // The optional per-entry checks run for some entries at least.
        let png = try Fixtures.entries("png")
        #expect(png.filter { $0["expected16"] != nil }.count >= 4 && png.contains { $0["indices"] != nil })
        #expect(try Fixtures.entries("jpeg").contains { $0["orientation"] != nil })
        #expect(try Fixtures.camvid().width == 480)
        #expect(throws: FixtureMissing.self) { try Fixtures.entries("no such section") }
    }
}
