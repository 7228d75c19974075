import Foundation
public import NightjarCore
public import NightjarHTTP
import Synchronization

/// What every kind of cassette shares (a portal's, a mailbox's or SFTP source's): a format
/// name checked on reading, the recorded date range, and one way to write and read the file.
public protocol RecordedCassette: Codable, Sendable {
    /// The `format` a file of this kind must name (`nightjar-cassette/1`, ...).
    static var formatName: String { get }
    var format: String { get }
    var from: CalendarDate { get }
    var to: CalendarDate { get }
}

extension RecordedCassette {
    /// The recorded range; a cassette whose `to` is before its `from` replays its first day.
    public var range: DateRange { (try? DateRange(from: from, to: to)) ?? (try! DateRange(from: from, to: from)) }

    /// The file's bytes: pretty, sorted JSON and a final newline, so a re-recording diffs well.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }

    /// Reads a cassette file: `cassette.format` when it names another format,
    /// `cassette.invalid` when it is not JSON of this shape (exit 65 both).
    public static func decode(_ bytes: [UInt8], file: String) throws -> Self {
        do {
            let cassette = try JSONDecoder().decode(Self.self, from: Data(bytes))
            guard cassette.format == formatName else {
                throw GeneralError(
                    code: "cassette.format", message: "\(file): not a \(formatName) file", exitStatus: .dataError)
            }
            return cassette
        } catch let error as GeneralError {
            throw error
        } catch {
            throw GeneralError(
                code: "cassette.invalid", message: "\(file): not a readable cassette (\(error))", exitStatus: .dataError
            )
        }
    }
}

/// A recorded run: every request and answer, redacted, with bank account numbers masked and
/// the live origins replaced by the definition's own, so it replays anywhere, offline, as a
/// regression test (`nightjar scraper test`).
public struct Cassette: RecordedCassette {
    public struct Interaction: Codable, Sendable {
        public var method: String
        public var url: String
        public var requestBody: String?
        public var status: Int
        public var headers: [[String]]
        public var finalURL: String
        /// UTF-8 text bodies are kept as text, anything else as base64.
        public var body: String?
        public var bodyBase64: String?

        enum CodingKeys: String, CodingKey {
            case method, url, status, headers, body
            case requestBody = "request_body", finalURL = "final_url", bodyBase64 = "body_base64"
        }

        var bodyBytes: [UInt8] {
            if let body { return Array(body.utf8) }
            return bodyBase64.flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? []
        }
    }

    /// What the replayed run must download.
    public struct ExpectedDownload: Codable, Sendable, Equatable {
        public var kind: DocumentKind
        public var fileName: String
        public var size: Int
        public var sha256: String
        public var metadata: [String: String]

        public init(kind: DocumentKind, fileName: String, size: Int, sha256: String, metadata: [String: String]) {
            self.kind = kind
            self.fileName = fileName
            self.size = size
            self.sha256 = sha256
            self.metadata = metadata
        }

        enum CodingKeys: String, CodingKey {
            case kind, size, sha256, metadata
            case fileName = "file_name"
        }
    }

    public static let formatName = "nightjar-cassette/1"
    public var format = Cassette.formatName
    public var portal: String
    public var recordedAt: String
    public var from: CalendarDate
    public var to: CalendarDate
    public var kinds: [DocumentKind]
    public var interactions: [Interaction]
    public var downloads: [ExpectedDownload]

    enum CodingKeys: String, CodingKey {
        case format, portal, from, to, kinds, interactions, downloads
        case recordedAt = "recorded_at"
    }

    /// The credential a replay runs with: made-up values for every vault field the definition
    /// uses, allowed on the definition's own origins.
    public static func replayCredential(for definition: ScraperDefinition, client: String = "cassette")
        -> ScriptCredential
    {
        var fields: [String: String] = [:]
        for field in definition.vaultFields { fields[field] = "cassette-\(field)" }
        return ScriptCredential(
            client: client, portal: definition.portal, fields: fields,
            allowedOrigins: definition.origins.filter { !$0.isPublic }.map(\.url),
            totp: { _ in "000000" })
    }

    /// A TOTP source that never waits (a replay has no clock to respect).
    public static func replayTOTP() -> TOTPCodeSource {
        let tick = Mutex<Double>(0)
        return TOTPCodeSource(
            now: {
                tick.withLock {
                    $0 += 30
                    return $0
                }
            }, sleep: { _ in })
    }

    /// Replays against the definition and compares the downloads with the recorded ones.
    /// Returns the problems (empty when it still behaves).
    public static func verify(_ cassette: Cassette, definition: ScraperDefinition, directory: String) async -> (
        ScraperOutcome, [String]
    ) {
        let replay = CassetteTransport(cassette)
        let interpreter = ScraperInterpreter(
            definition: definition, credential: replayCredential(for: definition), transport: replay,
            options: ScraperRunOptions(range: cassette.range, kinds: cassette.kinds, downloadDirectory: directory),
            totp: replayTOTP())
        let outcome = await interpreter.run()
        var problems: [String] = []
        if let failure = outcome.failure {
            problems.append("the run stopped: \(failure.location?.description ?? "?"): \(failure.message)")
        }
        let produced = outcome.downloads.map {
            ExpectedDownload(
                kind: $0.kind, fileName: $0.fileName, size: $0.size, sha256: $0.sha256, metadata: $0.metadata)
        }
        for expected in cassette.downloads where !produced.contains(expected) {
            if let same = produced.first(where: { $0.sha256 == expected.sha256 }) {
                problems.append(
                    "\(expected.fileName): now saved as \(same.fileName) with \(same.metadata.sorted { $0.key < $1.key }) (was \(expected.metadata.sorted { $0.key < $1.key }))"
                )
            } else {
                problems.append("no longer downloaded: \(expected.fileName) (\(expected.sha256.prefix(12))...)")
            }
        }
        for extra in produced where !cassette.downloads.contains(where: { $0.sha256 == extra.sha256 }) {
            problems.append("downloaded but not in the cassette: \(extra.fileName)")
        }
        let unused = replay.unusedCount
        if outcome.failure == nil && unused > 0 { problems.append("\(unused) recorded request(s) were never made") }
        return (outcome, problems)
    }
}

/// Records what a live transport sends and receives, for a cassette.
public final class RecordingTransport: ScriptTransport, @unchecked Sendable {
    let inner: any ScriptTransport
    private let log = Mutex<[(HTTPRequest, HTTPResponse)]>([])
    /// What the cassette hides besides the registered secrets: one-time and session values,
    /// fields named like passwords (see `RecordingMask`).
    public let mask: RecordingMask

    /// `sensitiveNames`: more fields the definition declares sensitive.
    public init(_ inner: any ScriptTransport, sensitiveNames: [String] = []) {
        self.inner = inner
        mask = RecordingMask(names: sensitiveNames)
    }

    public func send(_ request: HTTPRequest, followRedirects: Bool) async throws -> HTTPResponse {
        let response = try await inner.send(request, followRedirects: followRedirects)
        log.withLock { $0.append((request, response)) }
        return response
    }

    /// The cassette of what was recorded: live origins (`from`) rewritten to the definition's
    /// (`to`), secrets redacted, one-time values (codes, `state`, tickets, session ids) hidden
    /// wherever they appear, sensitive fields and headers masked, bank accounts masked.
    public func cassette(
        portal: String, range: DateRange, kinds: [DocumentKind], origins: [(live: String, recorded: String)]
    ) -> Cassette {
        let mask = self.mask
        let exchanges = log.withLock { $0 }
        // First every one-time value is seen (a page may carry one that a later request sends).
        for (request, response) in exchanges {
            _ = mask.url(request.fullURL)
            if case .form(let fields) = request.body { for (name, value) in fields { _ = mask.field(name, value) } }
            if case .json(let bytes) = request.body { _ = mask.json(bytes) }
            for header in response.headers { _ = mask.header(header.name, header.value) }
            if (response.header("Content-Type") ?? "").contains("html") { mask.rememberInputs(ofPage: response.body) }
            if (response.header("Content-Type") ?? "").contains("json") {
                RecordingTransport.rememberOneTimeKeys(response.body, mask)
            }
        }
        func portable(_ text: String) -> String {
            var result = mask.redact(text)
            for (live, recorded) in origins where live != recorded {
                result = result.replacingOccurrences(of: live, with: recorded)
            }
            return result
        }
        let interactions = exchanges.map { request, response -> Cassette.Interaction in
            var requestBody: String?
            switch request.body {
            case .form(let fields):
                requestBody = fields.map { "\($0.0)=\(mask.field($0.0, $0.1))" }.joined(separator: "&")
            case .json(let bytes): requestBody = mask.json(bytes) ?? String(decoding: bytes, as: UTF8.self)
            case .raw(let bytes, _): requestBody = String(decoding: bytes, as: UTF8.self)
            case .multipart: requestBody = "[multipart]"
            case .none: requestBody = nil
            }
            let headers = response.headers.map { [$0.name, portable(mask.header($0.name, $0.value))] }
            let masked = BankAccountMask.mask(response.body)
            var interaction = Cassette.Interaction(
                method: request.method.rawValue, url: portable(mask.url(request.fullURL)),
                requestBody: requestBody.map(portable), status: response.status, headers: headers,
                finalURL: portable(mask.url(response.url)))
            if let text = String(validating: masked, as: UTF8.self) {
                interaction.body = portable(text)
            } else {
                interaction.bodyBase64 = Data(mask.redact(bytes: masked)).base64EncodedString()
            }
            return interaction
        }
        return Cassette(
            portal: portal, recordedAt: Logger.timestamp(), from: range.from, to: range.to, kinds: kinds,
            interactions: interactions, downloads: [])
    }

    /// Remembers the string values of one-time keys of a JSON answer (the answer itself stays as
    /// it was, for replay: only those values are hidden).
    static func rememberOneTimeKeys(_ bytes: [UInt8], _ mask: RecordingMask) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return
        }
        func walk(_ value: Any) {
            if let dictionary = value as? [String: Any] {
                for (key, inner) in dictionary {
                    if mask.isOneTime(key), let text = inner as? String { mask.remember(text) } else { walk(inner) }
                }
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(object)
    }
}

extension Cassette.Interaction {
    init(method: String, url: String, requestBody: String?, status: Int, headers: [[String]], finalURL: String) {
        self.method = method
        self.url = url
        self.requestBody = requestBody
        self.status = status
        self.headers = headers
        self.finalURL = finalURL
    }
}

/// Answers from a cassette, in order; a request the cassette does not have is an error.
public final class CassetteTransport: ScriptTransport, @unchecked Sendable {
    let cassette: Cassette
    private let position = Mutex(0)

    public init(_ cassette: Cassette) { self.cassette = cassette }

    public var unusedCount: Int { cassette.interactions.count - position.withLock { $0 } }

    public func send(_ request: HTTPRequest, followRedirects: Bool) async throws -> HTTPResponse {
        let url = request.fullURL
        let index = position.withLock { value -> Int in
            defer { value += 1 }
            return value
        }
        guard index < cassette.interactions.count else {
            throw GeneralError(
                code: "cassette.exhausted",
                message:
                    "the cassette has no answer for \(request.method.rawValue) \(url) (it holds \(cassette.interactions.count) exchanges)"
            )
        }
        let recorded = cassette.interactions[index]
        let matches =
            recorded.method == request.method.rawValue
            && (recorded.url == url
                || (recorded.url.contains(Redactor.marker)
                    && url.hasPrefix(String(recorded.url[..<recorded.url.range(of: Redactor.marker)!.lowerBound]))))
        guard matches else {
            throw GeneralError(
                code: "cassette.mismatch",
                message:
                    "exchange \(index + 1): the definition sent \(request.method.rawValue) \(url), the cassette has \(recorded.method) \(recorded.url)"
            )
        }
        return HTTPResponse(
            status: recorded.status,
            headers: recorded.headers.map { (name: $0.first ?? "", value: $0.count > 1 ? $0[1] : "") },
            url: recorded.finalURL, body: recorded.bodyBytes)
    }
}

/// Masks bank account and routing numbers in X12 payment segments (BPR) and in lines that
/// name an account, keeping the last four digits.
public enum BankAccountMask {
    public static func mask(_ bytes: [UInt8]) -> [UInt8] {
        guard let text = String(validating: bytes, as: UTF8.self) else { return bytes }
        var changed = false
        var output = ""
        output.reserveCapacity(text.utf8.count)
        // X12: find the element separator from the ISA header, segments end with ~ (or the ISA's terminator).
        let elementSeparator: Character =
            text.hasPrefix("ISA") && text.count > 3 ? text[text.index(text.startIndex, offsetBy: 3)] : "*"
        var segments: [Substring] = []
        let terminator: Character = text.contains("~") ? "~" : "\n"
        segments = text.split(separator: terminator, omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            var piece = String(segment)
            let trimmed = segment.drop { $0 == "\n" || $0 == "\r" }
            if trimmed.hasPrefix("BPR\(elementSeparator)") {
                var elements = trimmed.split(separator: elementSeparator, omittingEmptySubsequences: false).map(
                    String.init)
                for position in [7, 9, 13, 15] where position < elements.count {
                    elements[position] = keepLastFour(elements[position])
                }
                piece =
                    String(segment.prefix(segment.count - trimmed.count))
                    + elements.joined(separator: String(elementSeparator))
                changed = true
            } else if piece.range(of: "account", options: .caseInsensitive) != nil
                || piece.range(of: "acct", options: .caseInsensitive) != nil
            {
                let masked = maskLongDigitRuns(piece)
                if masked != piece {
                    piece = masked
                    changed = true
                }
            }
            output += piece
            if index < segments.count - 1 { output.append(terminator) }
        }
        return changed ? Array(output.utf8) : bytes
    }

    static func keepLastFour(_ digits: String) -> String {
        guard digits.count > 4 else { return digits }
        return String(repeating: "X", count: digits.count - 4) + digits.suffix(4)
    }

    /// Runs of 8 to 17 digits become X's but for the last four.
    static func maskLongDigitRuns(_ text: String) -> String {
        var result = ""
        var run = ""
        func flush() {
            result += (8...17).contains(run.count) ? keepLastFour(run) : run
            run = ""
        }
        for character in text {
            if character.isASCII && character.isNumber {
                run.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }
}

extension ScraperDefinition {
    /// The vault fields the definition uses (`vault.username`, ...); for a mailbox or SFTP drop,
    /// those its sign-in needs.
    public var vaultFields: [String] {
        guard source == .portal else {
            let fields = signInMethod.fields
            return (fields.required + fields.optional + (source == .sftp ? ["known_hosts"] : [])).sorted()
        }
        return references().vaultFields
    }

    /// How a mailbox or SFTP drop signs in (`sign in ...`, else with a password).
    public var signInMethod: SignInMethod { sourceSettings.signIn ?? .password }

    /// Whether the login sends a TOTP code (`totp`).
    public var loginUsesTOTP: Bool { references(loginOnly: true).names.contains("totp") }

    /// The vault fields and the names (`totp`, `client`, a binding...) the definition's
    /// expressions use, in the login only or everywhere.
    func references(loginOnly: Bool = false) -> (vaultFields: [String], names: Set<String>) {
        var fields = Set<String>()
        var names = Set<String>()
        func visit(_ expression: Expression) {
            switch expression.kind {
            case .variable(let name): names.insert(name)
            case .member(let base, let member): if base == "vault" { fields.insert(member) }
            case .string(let parts): for part in parts { if case .interpolation(let inner) = part { visit(inner) } }
            case .list(let items): items.forEach(visit)
            case .call(_, let arguments): arguments.forEach(visit)
            case .filter(let inner, _, let arguments):
                visit(inner)
                arguments.forEach(visit)
            case .binary(_, let left, let right):
                visit(left)
                visit(right)
            case .not(let inner): visit(inner)
            default: break
            }
        }
        func visit(_ template: JSONTemplate) {
            switch template {
            case .object(let entries): entries.forEach { visit($0.1) }
            case .array(let items): items.forEach { visit($0) }
            case .value(let expression): visit(expression)
            }
        }
        func visit(_ spec: RequestSpec) {
            visit(spec.url)
            (spec.query + spec.headers).forEach { visit($0.1) }
            switch spec.body {
            case .form(let fields): fields.forEach { visit($0.1) }
            case .json(let template): visit(template)
            case .raw(let value, let type):
                visit(value)
                if let type { visit(type) }
            case nil: break
            }
        }
        func visit(_ statements: [Statement]) {
            for statement in statements {
                switch statement.kind {
                case .request(let spec): visit(spec)
                case .download(let spec, let download):
                    visit(spec)
                    if let name = download.name { visit(name) }
                    download.metadata.forEach { visit($0.1) }
                case .bind(_, let value), .cookie(_, let value), .log(let value), .expiresIn(let value): visit(value)
                case .expect(let condition, _, let message), .fail(_, let condition, let message):
                    visit(condition)
                    if let message { visit(message) }
                case .conditional(let condition, let then, let otherwise):
                    visit(condition)
                    visit(then.statements)
                    visit(otherwise?.statements ?? [])
                case .forEach(_, let list, _, let body):
                    visit(list)
                    visit(body.statements)
                case .whileLoop(let condition, _, let body):
                    visit(condition)
                    visit(body.statements)
                case .pages(let next, _, let body):
                    visit(next)
                    visit(body.statements)
                case .messages(_, let body): visit(body.statements)
                case .wait, .attachments, .body, .files: break
                }
            }
        }
        visit(login?.statements ?? [])
        if !loginOnly {
            documents.forEach { visit($0.body.statements) }
            if let expired { visit(expired) }
            unavailable.forEach(visit)
        }
        return (fields.sorted(), names)
    }
}
