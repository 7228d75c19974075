import Foundation
import NightjarCrypto

/// Reads the `KEY = value` blocks of NIST and pyca vector files. A block starts at a `COUNT`
/// (or `Len`) line, or when a key repeats; blank lines and `[section]` lines do not end a block
/// (some RFC files put a blank line inside a case). A bare word such as `FAIL` is a flag.
struct VectorFile {
    struct Block {
        var values: [String: String] = [:]
        var flags: Set<String> = []
        subscript(_ key: String) -> String? { values[key.lowercased()] }
        func bytes(_ key: String) -> [UInt8] { [UInt8](hex: self[key] ?? "") ?? [] }
        var isEmpty: Bool { values.isEmpty && flags.isEmpty }
    }

    let blocks: [Block]

    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Vectors", withExtension: nil)!.appendingPathComponent(name)
    }

    init(_ name: String) throws {
        let text = try String(contentsOf: VectorFile.url(name), encoding: .utf8)
        var blocks: [Block] = []
        var current = Block()
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("[") || line.hasPrefix("#") { continue }
            if let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                if key == "count" || key == "len" || current.values[key] != nil, !current.isEmpty {
                    blocks.append(current)
                    current = Block()
                }
                current.values[key] = value
            } else {
                current.flags.insert(line)
            }
        }
        if !current.isEmpty { blocks.append(current) }
        self.blocks = blocks
    }
}
