import Foundation
public import NightjarCore
public import NightjarHTTP
import Synchronization

/// A file on a drop server, as a listing and a stat show it.
public struct RemoteFile: Sendable, Equatable, Codable {
    public let path: String
    public let size: Int
    /// Modification time, seconds since 1970.
    public let modified: Int64

    public init(path: String, size: Int, modified: Int64) {
        self.path = path
        self.size = size
        self.modified = modified
    }

    public var name: String { (path as NSString).lastPathComponent }
}

/// What a drop reader asks of a server: the live one over SFTP, or a recorded listing.
public protocol FileDropTransport: Sendable {
    /// Connects, checks the host key and signs in.
    func signIn() async throws
    /// The names in a folder (no `.` or `..`).
    func list(_ folder: String) async throws -> [String]
    /// A regular file's size and time; nil for a folder or anything else.
    func stat(_ path: String) async throws -> RemoteFile?
    func download(_ path: String, maximumBytes: Int) async throws -> [UInt8]
    func rename(_ path: String, to target: String) async throws
    var trace: [String] { get }
}

/// A live drop over SFTP (libssh2 through libcurl): the host key checked against the pinned
/// `known_hosts` line before anything is sent, one connection for the whole run.
public final class SFTPDrop: FileDropTransport {
    let connection: CurlConnection
    let base: String

    public init(server: String, connection: CurlConnection) {
        base = server.withoutTrailingSlashes
        self.connection = connection
    }

    public var trace: [String] { connection.trace }

    /// `/outbound/a b.csv` → `sftp://host/outbound/a%20b.csv`; `~/x` stays under the home folder.
    func url(_ path: String) -> String {
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: ";?#%"))
        let escaped = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return base + (escaped.hasPrefix("~") ? "/" + escaped : escaped)
    }

    /// A path as SFTP commands take it: quoted, the home folder implied for `~/`.
    static func commandPath(_ path: String) -> String {
        let relative = path.hasPrefix("~/") ? String(path.dropFirst(2)) : path
        return "\"" + relative.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    public func signIn() async throws {
        var request = CurlConnection.Request(url: url("~/"))
        request.namesOnly = true
        _ = try await connection.perform(request)
    }

    public func list(_ folder: String) async throws -> [String] {
        var request = CurlConnection.Request(url: url(folder.hasSuffix("/") ? folder : folder + "/"))
        request.namesOnly = true
        request.maximumBytes = 16 * 1024 * 1024
        let body = try await connection.perform(request).body
        return String(decoding: body, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init).filter {
            $0 != "." && $0 != ".."
        }
    }

    public func stat(_ path: String) async throws -> RemoteFile? {
        var request = CurlConnection.Request(url: url(path))
        request.metadataOnly = true
        let response = try await connection.perform(request)
        guard let size = response.contentLength, let time = response.fileTime else { return nil }
        return RemoteFile(path: path, size: Int(size), modified: time)
    }

    public func download(_ path: String, maximumBytes: Int) async throws -> [UInt8] {
        var request = CurlConnection.Request(url: url(path))
        request.maximumBytes = maximumBytes
        return try await connection.perform(request).body
    }

    public func rename(_ path: String, to target: String) async throws {
        var request = CurlConnection.Request(url: url("~/"))
        request.namesOnly = true
        request.afterCommands = ["rename \(SFTPDrop.commandPath(path)) \(SFTPDrop.commandPath(target))"]
        _ = try await connection.perform(request)
    }
}

/// A recorded drop replayed offline (`nightjar scraper test`): `listing.json` (each file's path,
/// size and time) and the files under `files/`, as `scraper record` writes them.
public final class RecordedDrop: FileDropTransport {
    let folder: String
    let files: [RemoteFile]
    private let notes = Mutex<[String]>([])

    public init(folder: String) throws {
        self.folder = folder
        guard let data = FileManager.default.contents(atPath: folder + "/listing.json") else {
            throw GeneralError(
                code: "drop.missing", message: "no recorded drop at \(folder) (listing.json)", exitStatus: .noInput)
        }
        do {
            files = try JSONDecoder().decode([RemoteFile].self, from: data)
        } catch {
            throw GeneralError(
                code: "drop.invalid", message: "\(folder)/listing.json is not a recorded listing (\(error))",
                exitStatus: .dataError)
        }
    }

    public var trace: [String] { notes.withLock { $0 } }
    func note(_ line: String) { notes.withLock { $0.append("* replay: " + line) } }

    public func signIn() async throws { note("\(files.count) recorded file(s)") }

    public func list(_ folder: String) async throws -> [String] {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return files.filter { $0.path.hasPrefix(prefix) && !$0.path.dropFirst(prefix.count).contains("/") }.map(\.name)
    }

    public func stat(_ path: String) async throws -> RemoteFile? { files.first { $0.path == path } }

    public func download(_ path: String, maximumBytes: Int) async throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: folder + "/files" + RecordedDrop.storedPath(path)) else {
            throw TransferError.notFound("no recorded file \(path)")
        }
        guard data.count <= maximumBytes else { throw TransferError.tooLarge(maximumBytes) }
        return Array(data)
    }

    public func rename(_ path: String, to target: String) async throws { note("would rename \(path) to \(target)") }

    /// Where a remote path's bytes are kept under `files/` (`~/x` under `files/~/x`).
    static func storedPath(_ path: String) -> String { path.hasPrefix("/") ? path : "/" + path }

    /// Writes a recording this type replays.
    public static func write(_ files: [(RemoteFile, [UInt8])], to folder: String) throws {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder + "/files", withIntermediateDirectories: true)
        for (file, bytes) in files {
            let path = folder + "/files" + storedPath(file.path)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try SecureFile.writeAtomically(Redactor.shared.redact(bytes: bytes), to: path, mode: 0o644)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try SecureFile.writeAtomically(
            Array(try encoder.encode(files.map(\.0))) + [10], to: folder + "/listing.json", mode: 0o644)
    }
}

/// Keeps what a live drop gave, to write it as a recording (`scraper record`).
public final class RecordingDrop: FileDropTransport {
    let inner: any FileDropTransport
    private let kept = Mutex<(stats: [String: RemoteFile], files: [(RemoteFile, [UInt8])])>(([:], []))

    public init(_ inner: any FileDropTransport) { self.inner = inner }

    public var trace: [String] { inner.trace }
    public func signIn() async throws { try await inner.signIn() }
    public func list(_ folder: String) async throws -> [String] { try await inner.list(folder) }

    public func stat(_ path: String) async throws -> RemoteFile? {
        let file = try await inner.stat(path)
        if let file { kept.withLock { $0.stats[path] = file } }
        return file
    }

    public func download(_ path: String, maximumBytes: Int) async throws -> [UInt8] {
        let bytes = try await inner.download(path, maximumBytes: maximumBytes)
        kept.withLock { state in
            if let file = state.stats[path] { state.files.append((file, bytes)) }
        }
        return bytes
    }

    public func rename(_ path: String, to target: String) async throws { try await inner.rename(path, to: target) }

    public func write(to folder: String) throws { try RecordedDrop.write(kept.withLock { $0.files }, to: folder) }
}
