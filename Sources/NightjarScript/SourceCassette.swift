import Foundation
public import NightjarCore

/// A recorded run of a mailbox or SFTP source, for `nightjar scraper test`: the range and the
/// documents a replay must produce. What the server held lives beside it, in the folder `data`
/// names: a Maildir (`ID.maildir/`) for a mailbox, a listing and its files (`ID.drop/`) for SFTP.
public struct SourceCassette: RecordedCassette {
    public static let formatName = "nightjar-source-cassette/1"
    public var format = SourceCassette.formatName
    public var source: SourceKind
    public var portal: String
    public var recordedAt: String
    public var from: CalendarDate
    public var to: CalendarDate
    public var kinds: [DocumentKind]
    /// The recorded server, relative to the cassette's folder.
    public var data: String
    public var downloads: [Cassette.ExpectedDownload]

    enum CodingKeys: String, CodingKey {
        case format, source, portal, from, to, kinds, data, downloads
        case recordedAt = "recorded_at"
    }

    public init(
        source: SourceKind, portal: String, range: DateRange, kinds: [DocumentKind], data: String,
        downloads: [DownloadRecord]
    ) {
        self.source = source
        self.portal = portal
        recordedAt = Logger.timestamp()
        from = range.from
        to = range.to
        self.kinds = kinds
        self.data = data
        self.downloads = downloads.map {
            Cassette.ExpectedDownload(
                kind: $0.kind, fileName: $0.fileName, size: $0.size, sha256: $0.sha256, metadata: $0.metadata)
        }
    }

    /// Whether these bytes are a source cassette (rather than a portal's).
    public static func isSourceCassette(_ bytes: [UInt8]) -> Bool {
        bytes.prefix(4096).firstRange(of: Array(formatName.utf8)) != nil
    }

    /// How a replay's outcome differs from the recording (empty when it still behaves).
    public func problems(with outcome: ScraperOutcome) -> [String] {
        var problems: [String] = []
        if let failure = outcome.failure {
            problems.append("the run stopped: \(failure.location?.description ?? "?"): \(failure.message)")
        }
        let produced = outcome.downloads.map {
            Cassette.ExpectedDownload(
                kind: $0.kind, fileName: $0.fileName, size: $0.size, sha256: $0.sha256, metadata: $0.metadata)
        }
        for expected in downloads where !produced.contains(expected) {
            if let same = produced.first(where: { $0.sha256 == expected.sha256 }) {
                problems.append(
                    "\(expected.fileName): now saved as \(same.fileName) with \(same.metadata.sorted { $0.key < $1.key }) (was \(expected.metadata.sorted { $0.key < $1.key }))"
                )
            } else {
                problems.append("no longer downloaded: \(expected.fileName) (\(expected.sha256.prefix(12))...)")
            }
        }
        for extra in produced where !downloads.contains(where: { $0.sha256 == extra.sha256 }) {
            problems.append("downloaded but not in the cassette: \(extra.fileName)")
        }
        return problems
    }
}
