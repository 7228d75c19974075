import Testing
@testable import NightjarSite

@Suite struct PercentEncodingTests {
    @Test func decodesStrictly() throws {
        #expect(try PercentEncoding.decode("a%20b".utf8, plusIsSpace: false) == "a b")
    }
}
