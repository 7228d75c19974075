import Foundation
public import NightjarStore

/// One database connection opened on first use and kept, used by one caller at a time: the
/// login journal and the TOTP store write a row per login, and opening (and migrating) a
/// connection for each costs more than the write.
final class SharedConnection: @unchecked Sendable {
    private let open: DatabaseOpener
    private let lock = NSLock()
    private var database: Database?
    private let queue = DispatchQueue(label: "nightjar.shared-connection")

    init(open: @escaping DatabaseOpener) { self.open = open }

    func use<T>(_ body: (Database) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if database == nil { database = try open() }
        return try body(database!)
    }

    /// `body` in one transaction, on a queue of the connection's own: a wait for another
    /// connection's write lock holds none of the threads Swift's tasks run on. A transaction that
    /// found the database busy past the connection's timeout is tried again, for a minute at most
    /// (a large import holds the lock for seconds).
    func perform<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result {
                        let start = ContinuousClock.now
                        while true {
                            do {
                                return try self.use { database in try database.transaction { try body(database) } }
                            } catch let error as StoreError
                                where error.code == "store.busy" && ContinuousClock.now - start < .seconds(60)
                            {
                                continue
                            }
                        }
                    })
            }
        }
    }
}
