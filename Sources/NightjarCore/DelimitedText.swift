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
                let column =
                    index < names.count && !names[index].utf8.contains(0)
                    ? "`\(names[index].trimmingCharacters(in: .whitespaces))` field" : "field \(index + 1)"
                throw NULByteError(field: column, location: SourceLocation(file: file, line: row.line, column: nil))
            }
        }
    }

    /// Splits `text` into rows. `maxFieldLength` bounds any one field so a hostile file cannot
    /// exhaust memory; a quote left open at the end is an error naming the line it opened on.
    /// The separator must be a single Unicode scalar (`,` `;` tab `|`).
    public static func parse(
        _ text: String, separator: Character = ",", quote quoteCharacter: Character? = "\"", file: String? = nil,
        maxFieldLength: Int = 1 << 20
    ) throws(Failure) -> [Row] {
        var parser = Parser(separator: separator, quote: quoteCharacter, file: file, maxFieldLength: maxFieldLength)
        var rows: [Row] = []
        try parser.feed(text) { rows.append($0) }
        if let last = try parser.finish() { rows.append(last) }
        return rows
    }

    /// The same splitting, fed text piece by piece (a file decoded a chunk at a time): rows are
    /// handed over as they end, and a piece may end anywhere, even inside a quoted field.
    public struct Parser {
        let separator: Unicode.Scalar
        let quote: Unicode.Scalar
        let file: String?
        let maxFieldLength: Int
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var fieldLength = 0
        var inQuotes = false
        var quoteOpenedOn = 0
        var line = 1
        var rowStart = 1
        var afterQuote = false
        var column = 0
        /// A quote was read inside quotes: the next scalar says whether it is doubled or closes the field.
        var quoteInQuotes = false
        /// A carriage return ended the row: a line feed right after it belongs to it.
        var afterCarriageReturn = false

        public init(
            separator: Character = ",", quote quoteCharacter: Character? = "\"", file: String? = nil,
            maxFieldLength: Int = 1 << 20
        ) {
            self.separator = separator.unicodeScalars.first!
            // Without a quote character every byte is data: a scalar no text holds stands for it.
            quote = quoteCharacter?.unicodeScalars.first ?? "\u{10FFFF}"
            self.file = file
            self.maxFieldLength = maxFieldLength
        }

        mutating func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldLength = 0
        }

        /// Splits the next piece of text, handing each finished row to `row`.
        public mutating func feed(_ text: String, _ row: (Row) throws(Failure) -> Void) throws(Failure) {
            let newline: Unicode.Scalar = "\n"
            let carriageReturn: Unicode.Scalar = "\r"
            for scalar in text.unicodeScalars {
                if afterCarriageReturn {
                    afterCarriageReturn = false
                    if scalar == newline { continue }
                }
                if quoteInQuotes {
                    quoteInQuotes = false
                    if scalar == quote {
                        field.append(quote)
                        fieldLength += 1
                        if fieldLength > maxFieldLength {
                            throw Failure(
                                message: "a field is longer than \(maxFieldLength) characters",
                                location: SourceLocation(file: file, line: line))
                        }
                        continue
                    }
                    inQuotes = false
                    afterQuote = true
                }
                column += 1
                if inQuotes {
                    if scalar == quote {
                        quoteInQuotes = true
                    } else {
                        if scalar == newline {
                            line += 1
                            column = 0
                        }
                        field.append(scalar)
                        fieldLength += 1
                    }
                } else if scalar == separator {
                    endField()
                    afterQuote = false
                } else if scalar == newline || scalar == carriageReturn {
                    if scalar == carriageReturn { afterCarriageReturn = true }
                    endField()
                    let finished = Row(line: rowStart, fields: fields)
                    fields = []
                    afterQuote = false
                    line += 1
                    column = 0
                    rowStart = line
                    try row(finished)
                } else if scalar == quote && fieldLength == 0 && !afterQuote {
                    inQuotes = true
                    quoteOpenedOn = line
                } else if afterQuote {
                    throw Failure(
                        message: "unexpected text after a closing quote",
                        location: SourceLocation(file: file, line: line, column: column))
                } else {
                    field.append(scalar)
                    fieldLength += 1
                }
                if fieldLength > maxFieldLength {
                    throw Failure(
                        message: "a field is longer than \(maxFieldLength) characters",
                        location: SourceLocation(file: file, line: line))
                }
            }
        }

        /// The last row, when the text does not end with a line break; an open quote is an error.
        public mutating func finish() throws(Failure) -> Row? {
            if quoteInQuotes {
                quoteInQuotes = false
                inQuotes = false
                afterQuote = true
            }
            if inQuotes {
                throw Failure(
                    message: "a quoted field opened on line \(quoteOpenedOn) is never closed",
                    location: SourceLocation(file: file, line: quoteOpenedOn))
            }
            if fieldLength > 0 || !fields.isEmpty || afterQuote {
                endField()
                let last = Row(line: rowStart, fields: fields)
                fields = []
                return last
            }
            return nil
        }
    }
}
