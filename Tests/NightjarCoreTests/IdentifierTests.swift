import NightjarCore
import Testing

@Suite("The identifier rule")
struct IdentifierTests {
    @Test(arguments: [
        "acme", "sandbox-html-portal", "vendor-2", "vendor.2", "a_b", "A9", "x", String(repeating: "a", count: 64),
        "acme..corp", "trailing.",
    ])
    func acceptedNames(name: String) throws {
        #expect(Identifier.isValid(name))
        #expect(throws: Never.self) { try Identifier.validate(name, field: "client name") }
    }

    @Test(arguments: [
        ("", IdentifierError.Reason.empty),
        (".", .dotName),
        ("..", .dotName),
        (".hidden", .leadingDot),
        ("a/b", .slash),
        ("../..", .slash),
        ("acme/../..", .slash),
        ("acme%2F..", .character("%")),
        ("a b", .character(" ")),
        ("café", .character("é")),
        ("a\u{0}b", .nulByte),
        ("a\nb", .character("\n")),
        ("x@y", .character("@")),
        (String(repeating: "a", count: 65), .tooLong(65)),
        (String(repeating: "é", count: 33), .tooLong(66)),
    ])
    func refusedNamesSayWhyAndNameTheField(name: String, reason: IdentifierError.Reason) {
        #expect(Identifier.problem(name) == reason)
        #expect {
            try Identifier.validate(name, field: "portal name", location: SourceLocation(file: "creds.csv", line: 4))
        } throws: { error in
            guard let error = error as? IdentifierError else { return false }
            return error.reason == reason && error.code == "input.invalid_name"
                && error.message.hasPrefix("the portal name \"")
                && error.location?.line == 4 && !error.message.contains("\u{0}")
        }
    }

    @Test func nulBytesAreRefusedInSecretsAndTextNamingTheField() {
        #expect(throws: NULByteError(field: "password")) {
            try NULByte.refuse(in: SecretBytes([0x61, 0, 0x62]), field: "password")
        }
        #expect(throws: NULByteError(field: "notes")) { try NULByte.refuse(in: "a\u{0}b", field: "notes") }
        #expect(throws: Never.self) { try NULByte.refuse(in: SecretBytes(utf8: "fine"), field: "password") }
        #expect(NULByteError(field: "password").message == "the password contains a NUL byte, which is never allowed")
    }
}
