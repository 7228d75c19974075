/// RFC 4180 delimited text: quoted fields with doubled quotes, separators and line breaks inside
/// quotes, CRLF or LF line ends. Every row keeps its 1-based starting line for error messages.
public enum DelimitedText {
    /// A parsed row and the line it starts on.
    public struct Row: Sendable, Equatable {
        public let line: Int
        public let fields: [String]

        public init(line: Int, fields: [String]) {
            self.line = line
            self.fields = fields
        }
    }

    /// Problems found while splitting.
    public struct Failure: NightjarError {
        public let message: String
        public let location: SourceLocation?
        public var code: String { "csv.malformed" }
    }

    /// Refuses the first field of `rows` holding a NUL byte, naming its column by `header` (the
    /// first row's names when nil) and its line.
    public static func refuseNUL(in rows: [Row], header: [String]? = nil, file: String?) throws(NULByteError) {
        let names = header ?? rows.first?.fields ?? []
        for row in rows {
            for (index, field) in row.fields.enumerated() where field.utf8.contains(0) {
                let column = index < names.count && !names[index].utf8.contains(0) ? "`\(names[index].trimmingCharacters(in: .whitespaces))` field" : "field \(index + 1)"
                throw NULByteError(field: column, location: SourceLocation(file: file, line: row.line, column: nil))
            }
        }
    }

    /// Splits `text` into rows. `maxFieldLength` bounds any one field so a hostile file cannot
    /// exhaust memory; a quote left open at the end is an error naming the line it opened on.
    /// The separator must be a single Unicode scalar (`,` `;` tab `|`).
    public static func parse(_ text: String, separator: Character = ",", quote quoteCharacter: Character? = "\"", file: String? = nil,
                             maxFieldLength: Int = 1 << 20) throws(Failure) -> [Row] {
        let separatorScalar = separator.unicodeScalars.first!
        // Without a quote character every byte is data: a scalar no text holds stands for it.
        let quote: Unicode.Scalar = quoteCharacter?.unicodeScalars.first ?? "\u{10FFFF}"
        let newline: Unicode.Scalar = "\n", carriageReturn: Unicode.Scalar = "\r"
        var rows: [Row] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var fieldLength = 0
        var inQuotes = false
        var quoteOpenedOn = 0
        var line = 1
        var rowStart = 1
        var afterQuote = false
        var column = 0
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar?
        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldLength = 0
        }
        while let scalar = pending ?? scalars.next() {
            pending = nil
            column += 1
            if inQuotes {
                if scalar == quote {
                    if let following = scalars.next() {
                        if following == quote {
                            field.append(quote)
                            fieldLength += 1
                        } else {
                            inQuotes = false
                            afterQuote = true
                            pending = following
                        }
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if scalar == newline { line += 1; column = 0 }
                    field.append(scalar)
                    fieldLength += 1
                }
            } else if scalar == separatorScalar {
                endField()
                afterQuote = false
            } else if scalar == newline || scalar == carriageReturn {
                if scalar == carriageReturn, let following = scalars.next(), following != newline { pending = following }
                endField()
                rows.append(Row(line: rowStart, fields: fields))
                fields = []
                afterQuote = false
                line += 1
                column = 0
                rowStart = line
            } else if scalar == quote && fieldLength == 0 && !afterQuote {
                inQuotes = true
                quoteOpenedOn = line
            } else if afterQuote {
                throw Failure(message: "unexpected text after a closing quote", location: SourceLocation(file: file, line: line, column: column))
            } else {
                field.append(scalar)
                fieldLength += 1
            }
            if fieldLength > maxFieldLength {
                throw Failure(message: "a field is longer than \(maxFieldLength) characters", location: SourceLocation(file: file, line: line))
            }
        }
        if inQuotes {
            throw Failure(message: "a quoted field opened on line \(quoteOpenedOn) is never closed",
                          location: SourceLocation(file: file, line: quoteOpenedOn))
        }
        if fieldLength > 0 || !fields.isEmpty || afterQuote {
            endField()
            rows.append(Row(line: rowStart, fields: fields))
        }
        return rows
    }
}
