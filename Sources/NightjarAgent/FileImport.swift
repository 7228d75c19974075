public import NightjarCore
public import NightjarDocuments
public import NightjarLedger
public import NightjarMatching
import Foundation

/// What became of one file handed to the importer.
public enum FileImport: Sendable {
    case imported(ImportResult)
    /// Kept but not imported: not a remittance, no matching profile, unknown format.
    case skipped(code: String, message: String)
}

/// Reads a remittance file by its detected format — X12 820, or CSV/Excel by the profile whose
/// header matches — and imports it into the ledger in one transaction, once per content hash.
public struct RemittanceFileImporter: Sendable {
    public let defaultCurrency: CurrencyCode
    public let profiles: [DelimitedProfile]

    public init(defaultCurrency: CurrencyCode, profiles: [DelimitedProfile]) {
        self.defaultCurrency = defaultCurrency
        self.profiles = profiles
    }

    public func importFile(_ bytes: [UInt8], name: String, client: ClientID, portal: String?, into ledger: Ledger,
                           profile explicit: DelimitedProfile? = nil) throws -> FileImport {
        switch DocumentFormat.detect(bytes) {
        case .x12(let functionalID) where functionalID == "RA" || functionalID == nil:
            let advices = try RemittanceAdviceReader.read(bytes, defaultCurrency: defaultCurrency, file: name)
            return .imported(try ledger.importRemittances(advices, bytes: bytes, name: name, client: client, format: "x12-820", portal: portal))
        case .x12(let functionalID):
            return .skipped(code: "not_remittance", message: "\(name): an X12 \(functionalID ?? "") file, not a remittance (820); kept, not imported")
        case .delimitedText, .xlsx:
            let profile: DelimitedProfile
            if let explicit {
                profile = explicit
            } else {
                let header = try DelimitedProfileMatch.headerRow(bytes, file: name)
                guard let matched = profiles.first(where: { $0.kind == .remittance && $0.matches(header: header) }) else {
                    return .skipped(code: "no_profile", message: "\(name): no profile matches its header (\(header.prefix(6).joined(separator: ", "))); kept, not imported")
                }
                profile = matched
            }
            let advices = try DelimitedRemittanceReader.read(bytes, profile: profile, defaultCurrency: defaultCurrency, file: name)
            return .imported(try ledger.importRemittances(advices, bytes: bytes, name: name, client: client, format: "csv:\(profile.name)", portal: portal))
        case .unknown:
            return .skipped(code: "unknown_format", message: "\(name): not X12, Excel or text; kept, not imported")
        }
    }
}

/// Each client's matching rules: `rules/CLIENT.rules`, else `rules/default.rules`, else the
/// documented defaults.
public struct MatchingRulesFiles: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The rules for a client, and the file they came from (nil: the defaults).
    public func rules(for client: String) throws -> (MatchingRules, String?) {
        for name in ["\(client).rules", "default.rules"] {
            let path = directory + "/" + name
            if let data = FileManager.default.contents(atPath: path) {
                return (try MatchingRules.parse(String(decoding: data, as: UTF8.self), file: path), path)
            }
        }
        return (.standard, nil)
    }
}
