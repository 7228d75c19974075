import Foundation
import NightjarAgent
import NightjarCore
import NightjarCrypto
import NightjarDocuments
import NightjarLedger
import NightjarMatching
import NightjarReview
import NightjarScript
import NightjarVault
import Testing

@testable import NightjarCLI

/// Seeded mutations of the inputs each reader takes that no other suite mutates: the files
/// people write (rules, config, account mapping, profiles, alias and credential CSVs), the
/// 810 invoices portals send, JSON, cassettes, schedules, credential names and TOTP secrets.
/// Every mutated input is read or refused with a typed error (with its line, for files read by
/// line); none crashes or hangs. The seed is in each failure's message, so it reproduces.
@Suite("Every reader under seeded mutation")
struct ReaderFuzzTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A reader, the real inputs its mutations start from, and how many to read.
    struct Reader: Sendable, CustomTestStringConvertible {
        let name: String
        let seeds: [[UInt8]]
        let rounds: Int
        /// Whether every refusal names a line (readers of files people write and fix).
        let locatesLines: Bool
        let read: @Sendable ([UInt8]) throws -> Void
        var testDescription: String { name }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    static func file(_ relativePath: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: repositoryRoot + "/" + relativePath) ?? Data())
    }

    static let rulesFile = """
        # Acme's matching rules.
        write_off_amount = 5.00
        write_off_percent = 0.5
        discount_grace_days = 5
        look_back_days = 730
        strip_prefixes = INVOICE INV NO #
        strip_leading_zeros = yes
        strip_zero_suffix = yes
        reason.99 = promotion
        reason.A1 = shortage
        payer_id_is_customer_id = no

        """

    static let configFile = """
        # Nightjar workspace configuration.
        [workspace]
        name = "Acme AR"
        time_zone = "America/New_York"
        default_currency = "USD"
        night_ends = "07:00"

        [origins]
        sandbox-html-portal = "https://127.0.0.1:8443"
        acme/sandbox-json-api.api = "https://127.0.0.1:9443"

        [schedule]
        default = "02:00"
        sandbox-html-portal = "11:30 23:00 America/New_York"

        """

    static let accountMapping = """
        # GL accounts
        clearing = Assets:Bank:Clearing
        receivable = Assets:Receivable
        discount = Expenses:Discounts
        write_off = Expenses:Write-Off   # small differences
        unapplied = Liabilities:Unapplied
        deduction.promotion = Expenses:Promotions

        """

    static let credentialFiles = [
        "client,portal,label,username,password,totp,origins,notes,extra.customer_number\n"
            + "acme,sandbox-html-portal,,ap@acme.example,\"p,w\"\"1\",JBSWY3DPEHPK3PXP,https://suppliers.sandbox-html-portal.example,\"two\nlines\",C-1\n"
            + "acme,sandbox-json-api,east,ar@acme.example,secret-2,,,,\n",
        "\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\"\n"
            + "\"Root\",\"Sandbox HTML Portal\",\"ap@acme\",\"p,w\"\"1\",\"https://suppliers.sandbox-html-portal.example\",\"line1\nline2\",\"\"\n",
    ]

    static let aliasFiles = [
        "alias,customer_id\nV1,C1\nRETAILER CO,C2\n\"Smith, Jones & Co\",C3\n", "payer_id;customer_id\r\nP-1;C1\r\n",
    ]

    static let readers: [Reader] = [
        Reader(name: "matching rules", seeds: [Array(rulesFile.utf8)], rounds: 600, locatesLines: true) {
            _ = try MatchingRules.parse(text($0), file: "acme.rules")
        },
        Reader(name: "workspace config", seeds: [Array(configFile.utf8)], rounds: 600, locatesLines: true) {
            _ = try WorkspaceConfig.parse(text($0), file: "nightjar.conf")
        },
        Reader(name: "GL account mapping", seeds: [Array(accountMapping.utf8)], rounds: 600, locatesLines: true) {
            _ = try AccountMapping.parse(text($0), file: "gl-accounts.conf")
        },
        Reader(
            name: "layout profiles",
            seeds: [
                "sandbox-totp-portal-remittance", "distributor-invoices", "sandbox-html-portal-remittance",
                "one-row-per-invoice", "sandbox-json-api-remittance",
            ]
            .map { file("docs/examples/\($0).profile") },
            rounds: 600, locatesLines: true
        ) {
            _ = try LayoutProfileParser.parse(text($0), file: "fuzz.profile")
        },
        Reader(name: "credential CSV", seeds: credentialFiles.map { Array($0.utf8) }, rounds: 600, locatesLines: true) {
            _ = try CredentialCSV.parse(text($0), file: "credentials.csv", defaultClient: "acme")
        },
        Reader(name: "customer alias CSV", seeds: aliasFiles.map { Array($0.utf8) }, rounds: 600, locatesLines: true) {
            _ = try CustomerAliasFile.read($0, file: "aliases.csv")
        },
        Reader(
            name: "X12 810 invoices",
            seeds: [
                "bots_810-004010-01_two_ST_TDS_implied_dec.x12", "stupidedi_004010_IN810_pipe_separator.edi",
                "stupidedi_004010X348_810_mixed_crlf.edi", "moov_x12_4010_810_multi_ST.txt",
            ]
            .map { file("Tests/NightjarDocumentsTests/Samples/\($0)") },
            rounds: 600, locatesLines: false
        ) {
            _ = try SupplierInvoiceReader.read($0, defaultCurrency: .usd, file: "invoices.x12")
        },
        Reader(
            name: "JSON",
            seeds: [
                file("scrapers/sandbox-html-portal.cassette"),
                Array(#"{"a":[1,-2.5e3,"\u00e9\n",true,null,{"b":{}}]}"#.utf8),
            ],
            rounds: 300, locatesLines: false
        ) {
            _ = try JSONValue.parse($0, file: "fuzz.json")
        },
        Reader(
            name: "cassettes", seeds: [file("scrapers/sandbox-html-portal.cassette")], rounds: 60, locatesLines: false
        ) {
            _ = try Cassette.decode($0, file: "sandbox-html-portal.cassette")
        },
        Reader(
            name: "portal schedules",
            seeds: [Array("11:30 15:00 18:45 23:00 America/New_York".utf8), Array("02:00, 14:30 UTC".utf8)],
            rounds: 600, locatesLines: false
        ) {
            _ = try PortalSchedule.parse(text($0), defaultZone: .gmt)
        },
        Reader(
            name: "credential names",
            seeds: [Array("acme/sandbox-html-portal/east".utf8), Array("acme-corp/sandbox-json-api".utf8)], rounds: 600,
            locatesLines: false
        ) {
            _ = try CredentialName(parsing: text($0))
        },
        Reader(
            name: "TOTP secrets",
            seeds: [
                Array("JBSW Y3DP-EHPK 3PXP".utf8),
                Array("otpauth://totp/Acme:ap?secret=JBSWY3DPEHPK3PXP&digits=8&period=60&algorithm=SHA256".utf8),
            ],
            rounds: 600, locatesLines: false
        ) {
            _ = try TOTPSettings.parse(SecretBytes($0))
        },
    ]

    /// Text-level mutations: flips, cuts, deletions, duplicated runs, long runs of one
    /// character, separators and quotes swapped, invalid UTF-8, NUL bytes, lines swapped.
    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededRandom) {
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            guard !bytes.isEmpty else {
                bytes = Array("=\"#,\n".utf8.shuffled(using: &generator))
                return
            }
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<11, using: &generator) {
            case 0: bytes[position] ^= UInt8.random(in: 1...255, using: &generator)
            case 1: bytes = Array(bytes.prefix(position))
            case 2:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...40, using: &generator)))
            case 3:
                let slice = Array(
                    bytes[position..<min(bytes.count, position + Int.random(in: 1...120, using: &generator))])
                bytes.insert(
                    contentsOf: slice, at: min(bytes.count, position + Int.random(in: 0...200, using: &generator)))
            case 4:
                let run = UInt8(
                    ascii: ["9", ",", "\"", "{", "[", "=", "#", "\\", ":", " "].randomElement(using: &generator)!)
                bytes.insert(
                    contentsOf: [UInt8](repeating: run, count: Int.random(in: 10...4_000, using: &generator)),
                    at: position)
            case 5:
                let from = UInt8(
                    ascii: [",", ";", "=", "\"", ".", "\n", "{", "}", ":", "/", "[", "*", "~"].randomElement(
                        using: &generator)!)
                let to = UInt8(
                    ascii: [",", ";", "\t", "\"", "-", "\n", "(", "]", " ", "/", "%", "\r"].randomElement(
                        using: &generator)!)
                for index in bytes.indices where bytes[index] == from && Bool.random(using: &generator) {
                    bytes[index] = to
                }
            case 6: bytes.insert(contentsOf: [0x93, 0xE9, 0x80, 0xA0, 0xFF, 0xEF, 0xBB, 0xBF], at: position)
            case 7: bytes.insert(0, at: position)
            case 8:
                let word = [
                    "-(1.234,56E+06)", "99999999999999999999999", "..", "../..", "\u{FEFF}", "é", "\r\n", "${", "[x]",
                    "a = ", "\"\"\"", "%2F", "-0",
                ]
                .randomElement(using: &generator)!
                bytes.insert(contentsOf: Array(word.utf8), at: position)
            case 9:
                // Swap two lines.
                var lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
                guard lines.count > 2 else { continue }
                lines.swapAt(
                    Int.random(in: 0..<lines.count, using: &generator),
                    Int.random(in: 0..<lines.count, using: &generator))
                bytes = Array(lines.joined(separator: [10]))
            default:
                // A line repeated many times.
                let lines = bytes.split(separator: 10, omittingEmptySubsequences: false)
                let line = Array(lines[Int.random(in: 0..<lines.count, using: &generator)]) + [10]
                bytes.append(
                    contentsOf: Array(
                        [[UInt8]](repeating: line, count: Int.random(in: 2...300, using: &generator)).joined()))
            }
        }
    }

    /// Lines of `bytes` as a reader counts them (LF, CRLF or a lone CR ends one).
    static func lineCount(_ bytes: [UInt8]) -> Int {
        var count = 1
        for (index, byte) in bytes.enumerated()
        where byte == 10 || (byte == 13 && (index + 1 == bytes.count || bytes[index + 1] != 10)) { count += 1 }
        return count
    }

    @Test(arguments: readers)
    func everyMutationIsReadOrRefusedWithATypedError(reader: Reader) throws {
        for (index, seed) in reader.seeds.enumerated() {
            #expect(!seed.isEmpty, "\(reader.name): seed \(index) is missing")
            #expect(throws: Never.self, "\(reader.name): seed \(index) reads") { try reader.read(seed) }
        }
        let seedValue = UInt64(truncatingIfNeeded: reader.name.utf8.reduce(5381) { ($0 << 5) &+ $0 &+ Int($1) })
        var generator = SeededRandom(seed: seedValue)
        var read = 0
        var refused = 0
        for round in 0..<reader.rounds {
            var bytes = reader.seeds[round % reader.seeds.count]
            Self.mutate(&bytes, using: &generator)
            do {
                try reader.read(bytes)
                read += 1
            } catch let error as any NightjarError {
                refused += 1
                #expect(
                    !error.code.isEmpty && !error.message.isEmpty, "\(reader.name) round \(round) seed \(seedValue)")
                if reader.locatesLines {
                    let line = error.location?.line
                    #expect(
                        line.map { (1...Self.lineCount(bytes)).contains($0) } == true,
                        "\(reader.name) round \(round) seed \(seedValue): \(error.code) \(error.message) at \(String(describing: error.location))"
                    )
                }
            } catch let error as ScheduleError {
                // A schedule is read inside the config, which adds the line.
                refused += 1
                #expect(!error.message.isEmpty, "\(reader.name) round \(round) seed \(seedValue)")
            } catch {
                Issue.record(
                    "\(reader.name) round \(round) seed \(seedValue): an untyped error \(type(of: error)): \(error)")
            }
        }
        // The mutations reach past the first checks: some inputs still read, many are refused.
        #expect(refused > reader.rounds / 10, "\(reader.name): \(refused) of \(reader.rounds) refused")
        #expect(read + refused == reader.rounds)
    }
}
