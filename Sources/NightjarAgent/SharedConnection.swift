import Foundation
public import NightjarStore

/// One database connection opened on first use and kept, used by one caller at a time: the
/// login journal and the TOTP store write a row per login, and opening (and migrating) a
/// connection for each costs more than the write.
final class SharedConnection: @unchecked Sendable {
    private let open: DatabaseOpener
    private let lock = NSLock()
    private var database: Database?

    init(open: @escaping DatabaseOpener) { self.open = open }

    func use<T>(_ body: (Database) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if database == nil { database = try open() }
        return try body(database!)
    }
}
