/// RFC 4180 delimited text: quoted fields with doubled quotes, separators and line breaks inside
/// quotes, CRLF or LF line ends. Every row keeps its 1-based starting line for error messages.
public enum DelimitedText {
    /// A parsed row and the line it starts on.
    public struct Row: Sendable, Equatable {
        public let line: Int
        public let fields: [String]
    }

    /// Problems found while splitting.
    public struct Failure: NightjarError {
        public let message: String
        public let location: SourceLocation?
        public var code: String { "csv.malformed" }
    }

    /// Splits `text` into rows. `maxFieldLength` bounds any one field so a hostile file cannot
    /// exhaust memory; a quote left open at the end is an error naming the line it opened on.
    public static func parse(_ text: String, separator: Character = ",", file: String? = nil,
                             maxFieldLength: Int = 1 << 20) throws(Failure) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var quoteOpenedOn = 0
        var line = 1
        var rowStart = 1
        var afterQuote = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        var column = 0
        func next() -> Character? {
            if let character = pending {
                pending = nil
                return character
            }
            return characters.next()
        }
        while let character = next() {
            column += 1
            if inQuotes {
                if character == "\"" {
                    if let following = next() {
                        if following == "\"" {
                            field.append("\"")
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
                    if character == "\n" || character == "\r\n" { line += 1; column = 0 }
                    field.append(character)
                }
            } else if character == separator {
                fields.append(field)
                field = ""
                afterQuote = false
            } else if character == "\n" || character == "\r\n" || character == "\r" {
                fields.append(field)
                rows.append(Row(line: rowStart, fields: fields))
                fields = []
                field = ""
                afterQuote = false
                line += 1
                column = 0
                rowStart = line
            } else if character == "\"" && field.isEmpty && !afterQuote {
                inQuotes = true
                quoteOpenedOn = line
            } else if afterQuote {
                throw Failure(message: "unexpected text after a closing quote",
                              location: SourceLocation(file: file, line: line, column: column))
            } else {
                field.append(character)
            }
            if field.utf8.count > maxFieldLength {
                throw Failure(message: "a field is longer than \(maxFieldLength) bytes", location: SourceLocation(file: file, line: line))
            }
        }
        if inQuotes {
            throw Failure(message: "a quoted field opened on line \(quoteOpenedOn) is never closed",
                          location: SourceLocation(file: file, line: quoteOpenedOn))
        }
        if !field.isEmpty || !fields.isEmpty || afterQuote {
            fields.append(field)
            rows.append(Row(line: rowStart, fields: fields))
        }
        return rows
    }
}
