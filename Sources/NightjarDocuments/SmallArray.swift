/// An array that holds none or one element without a heap allocation, and more in an `Array`.
/// A remitted line usually carries one reference, one date and one adjustment: as `Array`s they
/// cost three allocations and three frees per line, more than reading the line itself.
///
/// It is used like an array (iterated, indexed, mapped, appended to, compared, written from an
/// array literal) and is encoded and decoded exactly as an `Array` of its elements is.
@frozen
public struct SmallArray<Element> {
    @usableFromInline
    enum Storage {
        case empty
        case one(Element)
        case many([Element])
    }

    @usableFromInline
    var storage: Storage

    /// No elements.
    @inlinable
    public init() { storage = .empty }

    /// The elements of `elements`, in order.
    @inlinable
    public init<S: Sequence>(_ elements: S) where S.Element == Element {
        let array = Array(elements)
        switch array.count {
        case 0: storage = .empty
        case 1: storage = .one(array[0])
        default: storage = .many(array)
        }
    }

    /// Adds `element` at the end.
    @inlinable
    public mutating func append(_ element: consuming Element) { _ = appendReturningIndex(element) }

    /// Adds `element` at the end and returns its index (without reading the count after).
    ///
    /// The empty case is told apart without binding anything (a `switch` over `storage` would
    /// copy the stored element out and drop it again); otherwise the storage is moved out first,
    /// so an array is uniquely referenced and grows in place.
    @inlinable @inline(__always) @usableFromInline
    mutating func appendReturningIndex(_ element: consuming Element) -> Int {
        if case .empty = storage {
            storage = .one(consume element)
            return 0
        }
        let old = storage
        storage = .empty
        switch consume old {
        case .empty:
            storage = .one(element)
            return 0
        case .one(let first):
            storage = .many([first, element])
            return 1
        case .many(var array):
            array.append(element)
            let index = array.count - 1
            storage = .many(array)
            return index
        }
    }
}

extension SmallArray: RandomAccessCollection, MutableCollection {
    public typealias Index = Int
    public typealias Indices = Range<Int>

    @inlinable
    public var startIndex: Int { 0 }

    @inlinable
    public var endIndex: Int { count }

    @inlinable
    public var count: Int {
        switch storage {
        case .empty: 0
        case .one: 1
        case .many(let array): array.count
        }
    }

    @inlinable
    public var isEmpty: Bool {
        if case .empty = storage { return true }
        return false
    }

    @inlinable
    public subscript(position: Int) -> Element {
        get {
            switch storage {
            case .one(let element):
                precondition(position == 0, "SmallArray index out of range")
                return element
            case .many(let array):
                return array[position]
            case .empty:
                preconditionFailure("SmallArray index out of range")
            }
        }
        set {
            switch storage {
            case .one:
                precondition(position == 0, "SmallArray index out of range")
                storage = .one(newValue)
            case .many(var array):
                storage = .empty
                array[position] = newValue
                storage = .many(array)
            case .empty:
                preconditionFailure("SmallArray index out of range")
            }
        }
    }

    @inlinable
    public func index(after index: Int) -> Int { index + 1 }

    @inlinable
    public func index(before index: Int) -> Int { index - 1 }
}

extension SmallArray: ExpressibleByArrayLiteral {
    @inlinable
    public init(arrayLiteral elements: Element...) {
        switch elements.count {
        case 0: storage = .empty
        case 1: storage = .one(elements[0])
        default: storage = .many(elements)
        }
    }
}

extension SmallArray: Equatable where Element: Equatable {
    @inlinable
    public static func == (lhs: SmallArray, rhs: SmallArray) -> Bool { lhs.elementsEqual(rhs) }
}

extension SmallArray: Hashable where Element: Hashable {
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for element in self { hasher.combine(element) }
    }
}

extension SmallArray: Sendable where Element: Sendable {}
extension SmallArray.Storage: Sendable where Element: Sendable {}

extension SmallArray: Encodable where Element: Encodable {
    /// As an `Array`: an unkeyed container of the elements.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for element in self { try container.encode(element) }
    }
}

extension SmallArray: Decodable where Element: Decodable {
    /// As an `Array`: an unkeyed container of the elements.
    public init(from decoder: any Decoder) throws {
        self.init(try [Element](from: decoder))
    }
}

extension SmallArray: CustomStringConvertible, CustomDebugStringConvertible {
    /// As an `Array` prints.
    public var description: String { Array(self).description }
    public var debugDescription: String { Array(self).debugDescription }
}
