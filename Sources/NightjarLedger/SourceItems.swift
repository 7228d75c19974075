import NightjarCore
public import NightjarStore

/// What mailbox and SFTP sources have read (`source_item`): each message or file once.
public struct SourceItems {
    let database: Database

    public init(database: Database) { self.database = database }

    /// A remembered item: its identity, what became of it (`read`, `duplicate`, `refused`,
    /// `not_matching`) and when.
    public struct Item: Sendable, Equatable {
        public let key: String
        public let identity: String?
        public let status: String
        public let readAt: String
    }

    public func item(client: String, source: String, key: String) throws -> Item? {
        try database.query(
            "SELECT item_key, identity, status, read_at FROM source_item WHERE client_id = ? AND source = ? AND item_key = ?",
            [client, source, key]
        ).first.map(SourceItems.item)
    }

    /// The first item read with this identity (a copy of a message is not read again).
    public func item(client: String, source: String, identity: String) throws -> Item? {
        try database.query(
            """
            SELECT item_key, identity, status, read_at FROM source_item
            WHERE client_id = ? AND source = ? AND identity = ? AND status <> 'duplicate' ORDER BY read_at LIMIT 1
            """, [client, source, identity]
        ).first.map(SourceItems.item)
    }

    public func record(client: String, source: String, key: String, identity: String?, status: String, message: String?)
        throws
    {
        try database.execute(
            """
            INSERT INTO source_item (client_id, source, item_key, identity, status, message, read_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (client_id, source, item_key) DO UPDATE SET identity = excluded.identity, status = excluded.status,
                message = excluded.message, read_at = excluded.read_at
            """, [client, source, key, identity, status, message, Logger.timestamp()])
    }

    static func item(_ row: Row) throws -> Item {
        Item(
            key: try row.string("item_key"), identity: try row.optionalString("identity"),
            status: try row.string("status"),
            readAt: try row.string("read_at"))
    }
}
