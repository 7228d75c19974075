import Foundation
public import NightjarCore
import NightjarCrypto
public import NightjarLedger

/// A batch's journal, rendered in one format and ready to write or download.
public struct JournalExport: Sendable {
    public let batch: Int64
    public let format: GLExport.Format
    public let text: String
    public let entryCount: Int
    public let sha256: String

    /// A file name for it: `batch-42.journal`, `batch-42.beancount`, `batch-42.csv`, `batch-42.json`.
    public var fileName: String {
        let suffix =
            switch format {
            case .hledger: "journal"
            case .beancount: "beancount"
            case .csv: "csv"
            case .json: "json"
            }
        return "batch-\(batch).\(suffix)"
    }

    /// The account mapping of a workspace: `gl-accounts.conf` in its folder (UTF-8, at most
    /// 1 MiB), or the defaults.
    public static func accounts(workspaceRoot: String) throws -> AccountMapping {
        let path = workspaceRoot + "/gl-accounts.conf"
        guard let text = try BoundedFile.readTextIfPresent(path, what: "GL account mapping") else {
            return AccountMapping()
        }
        return try AccountMapping.parse(text, file: path)
    }

    /// The journal of an approved (or reversed) batch, balanced per currency. With `record`, the
    /// export is recorded (refused when this format was exported before, unless `again`); the CLI
    /// and the site both export through here.
    public static func make(
        batch id: Int64, format: GLExport.Format, ledger: Ledger, accounts: AccountMapping,
        record: Bool, again: Bool
    ) throws -> JournalExport {
        let settlement = try ledger.settlement(batch: id)
        guard settlement.status == "approved" || settlement.status == "reversed" else {
            throw ReviewError.notApproved(id)
        }
        let entries = GLExport.entries(for: settlement, accounts: accounts)
        guard entries.allSatisfy(\.isBalanced) else {
            throw GeneralError(
                code: "gl.unbalanced", message: "batch \(id) does not balance; nothing exported", exitStatus: .software)
        }
        let text = GLExport.render(entries, format: format)
        let sha256 = SHA256.hash(Array(text.utf8)).hexString
        if record { try ledger.recordExport(batch: id, format: format.rawValue, sha256: sha256, again: again) }
        return JournalExport(batch: id, format: format, text: text, entryCount: entries.count, sha256: sha256)
    }
}
