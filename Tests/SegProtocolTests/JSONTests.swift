import Testing
@testable import SegProtocol

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let v = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d\u00e9\n"}} "#)
        #expect(v == ["a": [1, -2, 3.5, 1000.0, true, false, nil], "b": ["c": "dé\n"]])
    }

    @Test func keepsIntegersApartFromFractions() throws {
        #expect(try JSONParser.parse("9007199254740993") == .int(9_007_199_254_740_993))
        #expect(try JSONParser.parse("1.0") == .double(1.0))
        #expect(try JSONParser.parse("-0") == .int(0))
        // Too large for Int64: kept as a double, not an error.
        #expect(try JSONParser.parse("18446744073709551616") == .double(18446744073709551616.0))
    }

    @Test func decodesSurrogatePairsAndEscapes() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00 \"q\" \\ \/ \b\f\r\t""#) == .string("😀 \"q\" \\ / \u{8}\u{c}\r\t"))
    }

    @Test(arguments: [
        ("", 0), ("{", 1), ("[1,]", 3), ("{\"a\" 1}", 5), ("01", 1), ("1.", 2), ("-", 1), ("tru", 0),
        ("\"abc", 4), ("\"\\x\"", 3), ("\"\\ud800\"", 7), ("[1] 2", 4), ("{\"a\":1,}", 7), ("\"a\u{1}\"", 2),
        ("nul", 0), ("1e", 2), ("NaN", 0),
    ])
    func rejectsMalformedInputWithAnOffset(text: String, offset: Int) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch { #expect(error.offset == offset, "\(text): \(error)") }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONParser.parse(ok)
    }

    @Test func serializerRoundTripsAndSortsKeys() throws {
        let v: JSONValue = ["z": 1, "a": ["x\u{1}y", 2.5, nil, true], "m": [:]]
        #expect(v.jsonString == #"{"a":["x\u0001y",2.5,null,true],"m":{},"z":1}"#)
        #expect(try JSONParser.parse(v.serialized()) == v)
    }

    @Test func serializesNonFiniteAsNull() {
        #expect(JSONValue.double(.nan).jsonString == "null")
        #expect(JSONValue.double(2.0).jsonString == "2")
    }
}

@Suite struct MessageTests {
    func classify(_ text: String) throws -> Message { Message(json: try JSONParser.parse(text)) }

    @Test func classifiesRequestsNotificationsAndResponses() throws {
        #expect(try classify(#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}}"#) == .request(id: .int(1), method: "m", params: ["a": 1]))
        #expect(try classify(#"{"jsonrpc":"2.0","id":"x","method":"m","params":null}"#) == .request(id: .string("x"), method: "m", params: nil))
        #expect(try classify(#"{"jsonrpc":"2.0","method":"n"}"#) == .notification(method: "n", params: nil))
        #expect(try classify(#"{"jsonrpc":"2.0","id":3,"result":null}"#) == .response(id: .int(3), result: .success(.null)))
    }

    @Test(arguments: [
        (#"[1]"#, "must be a JSON object"),
        (#"{"id":1,"method":"m"}"#, "\"jsonrpc\" must be \"2.0\""),
        (#"{"jsonrpc":"1.0","id":1,"method":"m"}"#, "\"jsonrpc\" must be \"2.0\""),
        (#"{"jsonrpc":"2.0","id":1,"method":5}"#, "\"method\" must be a string"),
        (#"{"jsonrpc":"2.0","id":{},"method":"m"}"#, "\"id\" must be a string or an integer"),
        (#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#, "\"id\" must be a string or an integer"),
        (#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#, "\"params\" must be an object or an array"),
        (#"{"jsonrpc":"2.0","id":1}"#, "needs \"method\""),
    ])
    func invalidMessagesAreInvalidRequests(text: String, fragment: String) throws {
        guard case .invalid(_, let error) = try classify(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(error.code == .invalidRequest)
        #expect(error.message.contains(fragment), "\(error.message)")
    }

    @Test func invalidRequestKeepsItsIdForCorrelation() throws {
        guard case .invalid(let id, _) = try classify(#"{"jsonrpc":"2.0","id":7,"method":5}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(id == .int(7))
    }
}

@Suite struct ParamReaderTests {
    @Test func acceptsEveryKindOfEmptyParams() throws {
        for p: JSONValue? in [nil, .null, [:], []] {
            #expect(try ParamReader(p).fields.isEmpty)
        }
    }

    @Test func namesTheFieldAndTheReason() {
        let p = try? ParamReader(["runs": "ten", "n": 2.5, "big": 99])
        #expect(throws: ResponseError.invalidParams("params.runs: expected an integer, got string")) { try p?.int("runs") }
        #expect(throws: ResponseError.invalidParams("params.n: expected an integer, got a fraction")) { try p?.int("n") }
        #expect(throws: ResponseError.invalidParams("params.big: 99 is out of range 0...10")) { try p?.int("big", range: 0...10) }
        #expect(throws: ResponseError.invalidParams("params.path: required string is missing")) { try p?.string("path") }
        #expect(throws: ResponseError.self) { try p?.rejectUnknown(allowed: ["runs", "n"]) }
    }

    @Test func refusesNonEmptyPositionalParams() {
        #expect(throws: ResponseError.self) { try ParamReader([1, 2]) }
        #expect(throws: ResponseError.self) { try ParamReader("x") }
    }
}
