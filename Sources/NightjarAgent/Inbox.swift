import Foundation
import NightjarCore
import NightjarHTTP

/// The content-addressed inbox: every fetched file kept once, read-only, under
/// `inbox/CLIENT/ab/<sha256>-<name>`.
public struct Inbox: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// Where a file with this hash lives.
    public func path(client: String, sha256: String, name: String) -> String {
        root + "/\(HTTPSession.sanitise(client))/\(sha256.prefix(2))/\(sha256)-\(HTTPSession.sanitise(name))"
    }

    /// Moves a downloaded file into the inbox (the same bytes already there under the same name
    /// are replaced by an identical copy) and returns its inbox path. The move is atomic; the
    /// file ends read-only. Folders are made only when the move finds one missing: most files
    /// land in folders made by files before them.
    public func store(_ downloaded: String, client: String, sha256: String, name: String) throws -> String {
        let target = path(client: client, sha256: sha256, name: name)
        let folder = (target as NSString).deletingLastPathComponent
        chmod(downloaded, 0o400)
        var moved = rename(downloaded, target) == 0
        if !moved && errno == ENOENT && FileManager.default.fileExists(atPath: downloaded) {
            try SecureFile.createPrivateDirectory(root)
            try SecureFile.createPrivateDirectory((folder as NSString).deletingLastPathComponent)
            try SecureFile.createPrivateDirectory(folder)
            moved = rename(downloaded, target) == 0
        }
        guard moved else {
            throw GeneralError(
                code: "inbox.move",
                message: "cannot move \(downloaded) into the inbox (\(String(cString: strerror(errno))))",
                exitStatus: .ioError)
        }
        try? SecureFile.syncDirectory(folder)
        return target
    }
}

/// Seeded crash points for the kill test: when `NIGHTJAR_TEST_CRASH_POINT=N` is set, the
/// process ends abruptly (as `kill -9` would) at the N-th point it passes. Unset, it costs one
/// atomic increment.
public enum CrashPoint {
    static let target: Int? = ProcessInfo.processInfo.environment["NIGHTJAR_TEST_CRASH_POINT"].flatMap(Int.init)
    static let counter = AtomicCounter()

    public static func hit(_ name: String) {
        guard let target else { return }
        if counter.increment() == target {
            FileHandle.standardError.write(Data("crash point \(target): \(name)\n".utf8))
            _exit(86)
        }
    }

    /// When a crash point was asked for and not reached, says how many the run passed (so a test
    /// can choose points the run really reaches).
    public static func reportPassed() {
        guard target != nil else { return }
        FileHandle.standardError.write(Data("crash points passed: \(counter.increment() - 1)\n".utf8))
    }
}

final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
