import Foundation
import NightjarCore

/// Paths into JSON as `JSONSerialization` gives it (the path syntax is `NightjarCore.JSONPath`'s).
extension JSONPath {
    /// Every value the path reaches (`[*]` fans out).
    static func select(_ steps: [Step], in root: Any) -> [Any] {
        var current: [Any] = [root]
        for step in steps {
            var next: [Any] = []
            for value in current {
                switch step {
                case .key(let key):
                    if let object = value as? [String: Any], let found = object[key] { next.append(found) }
                case .index(let index):
                    if let array = value as? [Any] {
                        let resolved = index < 0 ? array.count + index : index
                        if array.indices.contains(resolved) { next.append(array[resolved]) }
                    }
                case .all:
                    if let array = value as? [Any] {
                        next += array
                    } else if let object = value as? [String: Any] {
                        next += object.keys.sorted().compactMap { object[$0] }
                    }
                }
            }
            current = next
        }
        return current
    }
}
