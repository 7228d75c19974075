import Foundation
import NightjarAgent
import NightjarCore
import NightjarHTTP
import NightjarLedger
import NightjarMail
import NightjarReview
import NightjarVault

/// After a night: each recipient an admin approved (`nightjar vault recipient add`) gets one
/// message about exactly their clients, each client's morning report attached as written to
/// disk; operators get the summary when the night failed. Every delivery is recorded in
/// `reports/run-ID/mail.txt`; a failure to send is a warning, never a lost night.
enum MorningMailing {
    /// One message handed to the mail server, or not.
    struct Delivery: Encodable {
        let to: String
        let clients: [String]
        let attachments: [String]
        let status: String
        let message: String?
    }

    static func send(_ report: NightReport, config: WorkspaceConfig, vault: Vault, book: NightBook, expiring: [String])
        async -> [Delivery]
    {
        guard let mail = config.mail else { return [] }
        var settings = MorningMail.Settings(server: mail.server, from: mail.from)
        settings.allowPlaintextLoopback = mail.allowPlaintextLoopback
        if let bundle = config.sourceCABundle { settings.tls = TLSSettings(caBundle: Workspace.absolute(bundle)) }
        var deliveries: [Delivery] = []
        if let name = mail.credential {
            let parts = name.split(separator: "/").map(String.init)
            do {
                guard parts.count == 2 else { throw UsageError("[mail] credential is CLIENT/PORTAL, not \(name)") }
                let credential = try vault.credentials(
                    [CredentialName(client: parts[0], portal: parts[1])], purpose: .use(run: "morning-mail"))[0]
                settings.username = credential.username?.unsafeUTF8String()
                settings.password = credential.password?.unsafeUTF8String()
                if let password = settings.password { Redactor.shared.register(text: password) }
            } catch {
                let problem =
                    "the morning mail was not sent: its credential \(name) could not be read (\((error as? any NightjarError)?.message ?? "\(error)"))"
                Logger(label: "mail").warning(problem)
                return [Delivery(to: "", clients: [], attachments: [], status: "failed", message: problem)]
            }
        }
        let folder = (report.reportPath as NSString).deletingLastPathComponent
        let clients = Array(Set(report.run.items.map(\.client))).sorted()
        var byAddress: [String: [String]] = [:]
        for client in clients {
            for recipient in vault.reportRecipients(client: client) {
                byAddress[recipient.address, default: []].append(client)
            }
        }
        // Each client's report, written once; the attachment is the file's bytes.
        var reports: [String: (name: String, bytes: [UInt8])] = [:]
        var summaries: [String: String] = [:]
        for client in Set(byAddress.values.flatMap { $0 }).sorted() {
            do {
                let batches = try await book.reviewBatches(clients: [client])
                let attention = report.attention.filter { $0.client == client }
                let warnings = expiring.filter { $0.hasPrefix(client + "/") }.map { "credential \($0)" }
                let morning = MorningReport(
                    title: "Nightjar morning report — \(client), run \(report.run.id)", generatedAt: Logger.timestamp(),
                    batches: batches, attention: attention, warnings: warnings)
                let name = "morning-report-\(client).html"
                try RedactedFile.write(morning.html(), to: folder + "/" + name)
                reports[client] = (name, Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))))
                summaries[client] = summary(
                    client: client, report: report, batches: batches, attention: attention, expiring: warnings)
            } catch {
                summaries[client] =
                    "\(client): the morning report could not be written (\((error as? any NightjarError)?.message ?? "\(error)"))"
            }
        }
        for (address, theirs) in byAddress.sorted(by: { $0.key < $1.key }) {
            var text =
                "Good morning. Nightjar's run \(report.run.id) (started \(report.run.startedAt)) for "
                + (theirs.count == 1 ? theirs[0] : "\(theirs.count) clients") + ":\n\n"
            text += theirs.compactMap { summaries[$0] }.joined(separator: "\n\n") + "\n"
            if let site = mail.reviewURL { text += "\nReview and approve: \(site)\n" }
            let attached = theirs.compactMap { reports[$0] }
            let letter = MorningMail.Letter(
                to: address, subject: "Nightjar morning report: " + theirs.joined(separator: ", "), text: text,
                attachments: attached.map { ($0.name, "text/html; charset=utf-8", $0.bytes) })
            deliveries.append(await deliver(letter, clients: theirs, settings: settings))
        }
        if !report.succeeded {
            let summaryText = (try? Data(contentsOf: URL(fileURLWithPath: report.reportPath))).map { Array($0) } ?? []
            for address in mail.operators {
                let letter = MorningMail.Letter(
                    to: address, subject: "Nightjar run \(report.run.id) needs attention",
                    text:
                        "The night did not go well: \(report.attention.count) thing(s) need a person. The summary is attached.\n",
                    attachments: [("summary.txt", "text/plain; charset=utf-8", summaryText)])
                deliveries.append(await deliver(letter, clients: [], settings: settings))
            }
        }
        let log = deliveries.map {
            "\($0.status) \($0.to) clients=\($0.clients.joined(separator: ",")) attachments=\($0.attachments.joined(separator: ","))"
                + ($0.message.map { " — \($0)" } ?? "")
        }.joined(separator: "\n")
        try? RedactedFile.write(log + "\n", to: folder + "/mail.txt")
        return deliveries
    }

    static func deliver(_ letter: MorningMail.Letter, clients: [String], settings: MorningMail.Settings) async
        -> Delivery
    {
        do {
            try await MorningMail.send(letter, settings: settings)
            return Delivery(
                to: letter.to, clients: clients, attachments: letter.attachments.map(\.name), status: "sent",
                message: nil)
        } catch {
            let problem =
                "the morning mail to \(letter.to) was not sent: \(Redactor.shared.redact((error as? any NightjarError)?.message ?? "\(error)"))"
            Logger(label: "mail").warning(problem)
            return Delivery(
                to: letter.to, clients: clients, attachments: letter.attachments.map(\.name), status: "failed",
                message: problem)
        }
    }

    /// A client's part of a message: batches, exceptions and their total, credentials that did
    /// not go well, unread files, expiring credentials.
    static func summary(
        client: String, report: NightReport, batches: [ReviewBatch], attention: [RunLog.Attention], expiring: [String]
    ) -> String {
        let waiting = batches.filter { $0.status != "approved" && $0.status != "exported" }
        var totals: [String: Int64] = [:]
        var exceptionLines = 0
        var currencies: [String: CurrencyCode] = [:]
        for line in waiting.flatMap(\.lines) where line.isException {
            exceptionLines += 1
            totals[line.amountPaid.currency.code, default: 0] += line.amountPaid.minorUnits
            currencies[line.amountPaid.currency.code] = line.amountPaid.currency
        }
        let total = totals.keys.sorted().map { Money(minorUnits: totals[$0]!, currency: currencies[$0]!).description }
            .joined(separator: " + ")
        var lines = [
            "\(client): \(waiting.count) batch(es) waiting for review, \(exceptionLines) exception line(s)"
                + (total.isEmpty ? "" : " totalling \(total)")
        ]
        let failed = report.run.items.filter { $0.client == client && !RunLog.goodStatuses.contains($0.status) }
        if !failed.isEmpty {
            lines.append(
                "  credentials that did not go well: "
                    + failed.map { "\($0.client)/\($0.portal) (\($0.status))" }.joined(separator: ", "))
        }
        let unread = attention.filter { $0.file != nil }.count
        if unread > 0 { lines.append("  unread files: \(unread)") }
        for credential in expiring { lines.append("  \(credential)") }
        return lines.joined(separator: "\n")
    }
}
