import Foundation

/// Zip archives with every part stored (not compressed) and correct CRC-32 checksums: enough to
/// serve workbooks from the sandbox and to build workbooks with chosen contents in tests.
public enum SandboxZip {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// The archive of `parts` (name, bytes), in order.
    public static func stored(_ parts: [(String, [UInt8])]) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func u32(_ value: UInt32) -> [UInt8] {
            [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        var body: [UInt8] = []
        var directory: [UInt8] = []
        for (name, data) in parts {
            let nameBytes = Array(name.utf8)
            let crc = crc32(data)
            let offset = UInt32(body.count)
            body +=
                u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc) + u32(UInt32(data.count))
                + u32(UInt32(data.count))
                + u16(nameBytes.count) + u16(0) + nameBytes + data
            directory +=
                u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc)
                + u32(UInt32(data.count))
                + u32(UInt32(data.count)) + u16(nameBytes.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0)
                + u32(offset) + nameBytes
        }
        let directoryOffset = UInt32(body.count)
        return body + directory + u32(0x0605_4B50) + u16(0) + u16(0) + u16(parts.count) + u16(parts.count)
            + u32(UInt32(directory.count))
            + u32(directoryOffset) + u16(0)
    }
}

/// A one-sheet Excel workbook, written the way spreadsheet programs do: shared strings, numbers
/// with money and date formats.
public enum SandboxWorkbook {
    public enum Cell: Sendable {
        case text(String)
        /// A number as stored (`1234.5`), shown as money.
        case money(String)
        /// An ISO date, stored as an Excel serial day and shown as a date.
        case date(String)
        case empty
    }

    public static func xlsx(sheet: String, rows: [[Cell]]) -> [UInt8] {
        var strings: [String] = []
        var index: [String: Int] = [:]
        func shared(_ text: String) -> Int {
            if let known = index[text] { return known }
            index[text] = strings.count
            strings.append(text)
            return strings.count - 1
        }
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var body = ""
        for (rowIndex, row) in rows.enumerated() {
            let number = rowIndex + 1
            body += "<row r=\"\(number)\">"
            for (column, cell) in row.enumerated() {
                let reference = "\(Character(Unicode.Scalar(UInt8(65 + column))))\(number)"
                switch cell {
                case .text(let text): body += "<c r=\"\(reference)\" t=\"s\"><v>\(shared(text))</v></c>"
                case .money(let value): body += "<c r=\"\(reference)\" s=\"2\"><v>\(value)</v></c>"
                case .date(let iso): body += "<c r=\"\(reference)\" s=\"1\"><v>\(SandboxData.day(iso) + 25569)</v></c>"
                case .empty: break
                }
            }
            body += "</row>"
        }
        let parts: [(String, String)] = [
            (
                "[Content_Types].xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/></Types>"
            ),
            (
                "_rels/.rels",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
            ),
            (
                "xl/workbook.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet name=\"\(escaped(sheet))\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            ),
            (
                "xl/_rels/workbook.xml.rels",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"
            ),
            (
                "xl/styles.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"mm/dd/yyyy\"/></numFmts><cellXfs count=\"3\"><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/><xf numFmtId=\"4\"/></cellXfs></styleSheet>"
            ),
            (
                "xl/worksheets/sheet1.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\(body)</sheetData></worksheet>"
            ),
        ]
        let sharedPart =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"\(strings.count)\" uniqueCount=\"\(strings.count)\">"
            + strings.map { "<si><t xml:space=\"preserve\">\(escaped($0))</t></si>" }.joined() + "</sst>"
        return SandboxZip.stored(
            parts.map { ($0.0, Array($0.1.utf8)) } + [("xl/sharedStrings.xml", Array(sharedPart.utf8))])
    }
}
