public import NightjarCore

/// A value SQLite stores. `real` exists for completeness; money never uses it.
public enum DatabaseValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A Swift type that binds to and reads from one column.
public protocol DatabaseValueConvertible: Sendable {
    var databaseValue: DatabaseValue { get }
    init?(databaseValue: DatabaseValue)
}

extension Int64: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self) }
    public init?(databaseValue: DatabaseValue) {
        guard case .integer(let value) = databaseValue else { return nil }
        self = value
    }
}

extension Int: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public init?(databaseValue: DatabaseValue) {
        guard case .integer(let value) = databaseValue else { return nil }
        self = Int(value)
    }
}

extension Int32: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public init?(databaseValue: DatabaseValue) {
        guard case .integer(let value) = databaseValue, let narrow = Int32(exactly: value) else { return nil }
        self = narrow
    }
}

extension Bool: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self ? 1 : 0) }
    public init?(databaseValue: DatabaseValue) {
        guard case .integer(let value) = databaseValue else { return nil }
        self = value != 0
    }
}

extension Double: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .real(self) }
    public init?(databaseValue: DatabaseValue) {
        switch databaseValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
}

extension String: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .text(self) }
    public init?(databaseValue: DatabaseValue) {
        guard case .text(let value) = databaseValue else { return nil }
        self = value
    }
}

extension Array: DatabaseValueConvertible where Element == UInt8 {
    public var databaseValue: DatabaseValue { .blob(self) }
    public init?(databaseValue: DatabaseValue) {
        guard case .blob(let value) = databaseValue else { return nil }
        self = value
    }
}

extension CalendarDate: DatabaseValueConvertible {
    /// Stored as ISO 8601 text, so dates sort and compare in SQL.
    public var databaseValue: DatabaseValue { .text(description) }
    public init?(databaseValue: DatabaseValue) {
        guard case .text(let value) = databaseValue, let date = try? CalendarDate(iso: value) else { return nil }
        self = date
    }
}

extension CurrencyCode: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .text(code) }
    public init?(databaseValue: DatabaseValue) {
        guard case .text(let value) = databaseValue, let currency = try? CurrencyCode(value) else { return nil }
        self = currency
    }
}

extension Optional: DatabaseValueConvertible where Wrapped: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self?.databaseValue ?? .null }
    public init?(databaseValue: DatabaseValue) {
        if case .null = databaseValue {
            self = .none
        } else {
            guard let value = Wrapped(databaseValue: databaseValue) else { return nil }
            self = .some(value)
        }
    }
}

/// One result row: values by column index and name.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [DatabaseValue]

    /// The value of `column`, or `.null` if there is no such column.
    public subscript(_ column: String) -> DatabaseValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }

    public subscript(_ index: Int) -> DatabaseValue { values[index] }

    /// The column converted to `T`; throws when missing or of another type.
    public func get<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws(StoreError) -> T {
        guard let value = T(databaseValue: self[column]) else {
            throw StoreError.custom(20, "column \(column) is missing or not a \(T.self)")
        }
        return value
    }

    public func int64(_ column: String) throws(StoreError) -> Int64 { try get(column) }
    public func string(_ column: String) throws(StoreError) -> String { try get(column) }
    public func optionalString(_ column: String) throws(StoreError) -> String? { try get(column) }
}
