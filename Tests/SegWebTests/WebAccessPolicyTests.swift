import SegWeb
import Testing

/// Host, Origin and token rules, request by request.
struct WebAccessPolicyTests {
    let token = String(repeating: "ab", count: 32)
    var policy: WebAccessPolicy { WebAccessPolicy(token: token, port: 8123, extraHosts: ["My.Proxy"]) }

    func request(_ target: String, _ headers: [(String, String)]) -> HTTPRequest {
        HTTPRequest(method: "GET", target: target, headers: headers.map { (name: $0.0, value: $0.1) })
    }

    @Test func tokenFromQueryCookieOrBearer() {
        let host = ("Host", "127.0.0.1:8123")
        #expect(policy.check(request("/?token=\(token)", [host])) == .allowed(viaQueryToken: true))
        #expect(policy.check(request("/", [host, ("Cookie", "x=1; segslim-token-8123=\(token)")])) == .allowed(viaQueryToken: false))
        #expect(policy.check(request("/", [host, ("Authorization", "Bearer \(token)")])) == .allowed(viaQueryToken: false))
        #expect(policy.check(request("/", [host])) == .forbidden("token"))
        #expect(policy.check(request("/?token=\(token.dropLast())", [host])) == .forbidden("token"))
        #expect(policy.check(request("/?token=\(token)0", [host])) == .forbidden("token"))
        #expect(policy.check(request("/", [host, ("Cookie", "segslim-token-9999=\(token)")])) == .forbidden("token"))
        #expect(policy.check(request("/", [host, ("Authorization", "Basic \(token)")])) == .forbidden("token"))
    }

    @Test func hostMustNameThisServer() {
        let q = "/?token=\(token)"
        for good in ["127.0.0.1:8123", "localhost:8123", "LOCALHOST:8123", "[::1]:8123", "my.proxy", "my.proxy:443"] {
            #expect(policy.check(request(q, [("Host", good)])) == .allowed(viaQueryToken: true), "\(good)")
        }
        for bad in ["127.0.0.1:8124", "127.0.0.1", "evil.com:8123", "localhost.evil.com:8123", "127.0.0.1:8123@evil.com", "", "[::1]", "127.0.0.2:8123"] {
            if case .allowed = policy.check(request(q, [("Host", bad)])) { Issue.record("Host '\(bad)' allowed") }
        }
        if case .allowed = policy.check(request(q, [])) { Issue.record("a request without Host allowed") }
        if case .allowed = policy.check(request(q, [("Host", "127.0.0.1:8123"), ("Host", "evil.com")])) { Issue.record("two Hosts allowed") }
    }

    @Test func originWhenSentMustBeOurOwn() {
        let base: [(String, String)] = [("Host", "127.0.0.1:8123")]
        let q = "/?token=\(token)"
        for good in ["http://127.0.0.1:8123", "http://localhost:8123", "https://my.proxy"] {
            #expect(policy.check(request(q, base + [("Origin", good)])) == .allowed(viaQueryToken: true), "\(good)")
        }
        for bad in ["http://evil.com", "http://127.0.0.1:8124", "https://127.0.0.1:8123", "null", "file://", "http://127.0.0.1:8123.evil.com"] {
            if case .allowed = policy.check(request(q, base + [("Origin", bad)])) { Issue.record("Origin '\(bad)' allowed") }
        }
    }

    @Test func randomTokensAre64HexDigitsAndDiffer() {
        let a = WebAccessPolicy.randomToken(), b = WebAccessPolicy.randomToken()
        #expect(a.count == 64 && b.count == 64)
        #expect(a.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(a != b)
    }
}
