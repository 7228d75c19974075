public import NightjarLedger
import NightjarScript

/// What a person must see in the morning, built one way for the summary, the morning report,
/// `runs show`, `nightjar check` and the review site: every credential of a run whose part did
/// not go well, and every file still unread (tonight's and earlier nights'), each with what to do.
public enum NightAttention {
    /// The run's items that did not go well (`import_failed` and `unsupported_document` items are
    /// listed by their unread files instead), then every unread file of `clients` (all when nil).
    public static func list(run: RunLog.Run?, log: RunLog, clients: [String]? = nil) throws -> [RunLog.Attention] {
        try list(items: run?.items ?? [], run: run?.id, log: log, clients: clients)
    }

    /// The same for items of several runs (`nightjar check`: each credential's latest part).
    public static func list(items: [RunLog.Item], run: Int64?, log: RunLog, clients: [String]? = nil) throws -> [RunLog
        .Attention]
    {
        var list: [RunLog.Attention] = []
        for item in items where !RunLog.goodStatuses.contains(item.status) {
            // These are listed by their files while unread, and settled when the last one is.
            if ["import_failed", "unsupported_document"].contains(item.status) { continue }
            list.append(
                RunLog.Attention(
                    outcome: item.status, client: item.client, item: item.portal, file: nil,
                    message: (item.location.map { "\($0): " } ?? "") + (item.message ?? item.status),
                    whatToDo: whatToDo(status: item.status, client: item.client, item: item.portal), run: run))
        }
        let unread = try log.unreadFiles(client: nil).filter { clients == nil || clients!.contains($0.client) }
        list += unread.map(\.attention)
        return list
    }

    /// The next step for a credential that ended with `status`.
    public static func whatToDo(status: String, client: String, item: String) -> String {
        let credential = "\(client)/\(item)"
        let portal = String(item.prefix { $0 != "/" })
        switch status {
        case "skipped_unapproved":
            return
                "an admin reviews and approves the definition (nightjar scraper approve \(portal)) or the client's rules (nightjar rules approve \(client)); the range is fetched next night"
        case FailureClass.authFailed.rawValue:
            return
                "check the credential at the portal and update it (nightjar vault edit \(credential)); then nightjar run --retry-login \(credential)"
        case FailureClass.loginRefused.rawValue:
            return "after fixing the credential: nightjar run --retry-login \(credential)"
        case FailureClass.accountLocked.rawValue:
            return "the client has the account unlocked; then nightjar run --retry-login \(credential)"
        case FailureClass.portalUnavailable.rawValue:
            return
                "nothing if it passes: the range was not recorded as fetched, so the next night fetches it again; if it lasts, look at the saved page and HAR in the run's folder"
        case FailureClass.rateLimited.rawValue:
            return
                "nothing if it passes: the next night fetches the range again; if it lasts, lower requests_per_second in the definition"
        case FailureClass.layoutChanged.rawValue:
            return
                "the portal changed: compare the saved page and HAR with the definition (nightjar scraper test scrapers/\(portal).scraper), fix it and have it approved"
        case FailureClass.mfaRequired.rawValue:
            return "a person types the code: nightjar scraper try \(credential) --interactive"
        case FailureClass.originRefused.rawValue:
            return
                "the definition sends a vault value where it may not: fix the definition or the credential's --origin list"
        case "items_refused":
            return
                "each message or file named was not imported and is not read again: fetch it by hand and import it (nightjar import FILE --client \(client)), or ask the sender for a readable copy"
        case FailureClass.hostKeyChanged.rawValue:
            return
                "the server's host key is not the one pinned: confirm the new key with the server's owner, then put its known_hosts line in the credential (nightjar vault edit \(credential) --field-file known_hosts=FILE)"
        case "store_failed":
            return
                "a file could not be kept (the disk, the inbox folder): fix the cause the message names; the next night fetches the range again"
        case "interrupted":
            return "the run was cut off: the next run finishes the work"
        default:
            return "see the run's summary and HAR; the next night tries again"
        }
    }
}
