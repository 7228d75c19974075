/// How invoice references written by payers are brought to one form before comparing:
/// upper case; a trailing `-00`-style suffix dropped; a leading prefix such as `INV` or `#`
/// dropped; spaces and punctuation removed; leading zeros removed.
/// `"inv-000123-00"`, `"INV 123"`, `"#123"` and `"000123"` all become `"123"`.
public struct ReferenceNormalisation: Sendable, Codable, Equatable {
    /// Prefixes removed from the start (after upper-casing), longest first.
    public var prefixes: [String]
    public var stripLeadingZeros: Bool
    /// Drop a trailing separator followed only by zeros (`-00`, `/0`).
    public var stripZeroSuffix: Bool

    public init(prefixes: [String] = ["INVOICE", "INV", "NO", "#"], stripLeadingZeros: Bool = true, stripZeroSuffix: Bool = true) {
        self.prefixes = prefixes.map { $0.uppercased() }.sorted { $0.count > $1.count }
        self.stripLeadingZeros = stripLeadingZeros
        self.stripZeroSuffix = stripZeroSuffix
    }

    public static let standard = ReferenceNormalisation()

    static func isSeparator(_ scalar: Unicode.Scalar) -> Bool { " -_/.#:,;".unicodeScalars.contains(scalar) }

    /// The normalised form of `reference`.
    public func normalise(_ reference: String) -> String {
        var scalars = Array(reference.uppercased().unicodeScalars)
        while let last = scalars.last, last == " " { scalars.removeLast() }
        while let first = scalars.first, first == " " { scalars.removeFirst() }
        if stripZeroSuffix, let separator = scalars.lastIndex(where: { ReferenceNormalisation.isSeparator($0) }),
           separator > 0, separator < scalars.count - 1, scalars[(separator + 1)...].allSatisfy({ $0 == "0" }) {
            scalars.removeSubrange(separator...)
        }
        for prefix in prefixes {
            let prefixScalars = Array(prefix.unicodeScalars)
            guard scalars.count > prefixScalars.count, Array(scalars.prefix(prefixScalars.count)) == prefixScalars else { continue }
            let next = scalars[prefixScalars.count]
            // Only a real prefix: followed by a separator or a digit ("INVERNESS-1" keeps its letters).
            if ReferenceNormalisation.isSeparator(next) || ("0"..."9").contains(next) || prefix == "#" {
                scalars.removeFirst(prefixScalars.count)
                break
            }
        }
        var result = String.UnicodeScalarView()
        for scalar in scalars where !ReferenceNormalisation.isSeparator(scalar) { result.append(scalar) }
        var text = String(result)
        if stripLeadingZeros {
            let trimmed = text.drop { $0 == "0" }
            text = trimmed.isEmpty && !text.isEmpty ? "0" : String(trimmed)
        }
        return text
    }
}
