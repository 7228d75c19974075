#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The registry of secret values that every output path passes through: log lines, errors,
/// HAR recordings, cassettes, reports, JSON. A registered value is found raw and in the forms it
/// takes on the way out, then replaced by `[REDACTED]`:
///
/// - escaped, character by character, in any mix of URL percent-encoding (either hex case, `+`
///   for space, even double-encoded `%25XX`), JSON string escapes (`\/`, `\"`, `\u00e9`, also
///   escaped again when JSON is embedded in JSON) and HTML character references (`&amp;`,
///   `&#39;`, `&#xE9;`), so every encoder's choices are covered without listing them;
/// - base64, standard and URL-safe, at any alignment inside a longer base64 text (as in an
///   `Authorization: Basic` header), and hexadecimal in either case.
///
/// One pass over the text finds every secret in every form at once (see `RedactionScanner`): the
/// cost per byte does not grow with the number of secrets. Redactions run concurrently; a
/// registration waits for them.
///
/// Values shorter than `minimumSearchableLength` bytes are not searched for (a 4-digit PIN would
/// mangle amounts and dates); they are kept out of output by field instead: log fields marked
/// `.secret` always print `[REDACTED]`. Identifiers (client and portal ids) are never redacted,
/// even when a secret has the same bytes.
public final class Redactor: @unchecked Sendable {
    /// The process-wide registry.
    public static let shared = Redactor()

    /// What a redacted value is replaced by.
    public static let marker = "[REDACTED]"
    static let markerBytes = Array(marker.utf8)

    /// Shorter values are kept out of output by field, not by search.
    public static let minimumSearchableLength = 6

    /// Guards `index`: shared by redactions, exclusive for registrations.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var index = RedactionIndex()

    public init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func reading<T>(_ body: (RedactionIndex) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(index)
    }

    private func writing<T>(_ body: (inout RedactionIndex) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&index)
    }

    /// Registers a secret. Returns false when the value is too short to search for safely.
    @discardableResult
    public func register(_ secret: SecretBytes) -> Bool {
        secret.withUnsafeBytes { raw in
            guard raw.count >= Redactor.minimumSearchableLength else { return false }
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            writing { $0.add(bytes) }
            return true
        }
    }

    /// Registers a secret given as text (e.g. a TOTP code made from a vault seed).
    @discardableResult
    public func register(text: String) -> Bool {
        register(bytes: Array(text.utf8))
    }

    /// Registers a secret given as bytes.
    @discardableResult
    public func register(bytes: [UInt8]) -> Bool {
        guard bytes.count >= Redactor.minimumSearchableLength else { return false }
        writing { $0.add(bytes) }
        return true
    }

    /// Declares an identifier (a client or portal id) that is never redacted: a secret with the
    /// same bytes stops being searched for, so a client named like a portal username prints in full.
    public func declareIdentifier(_ identifier: String) {
        guard identifier.utf8.count >= Redactor.minimumSearchableLength else { return }
        writing { $0.addIdentifier(Array(identifier.utf8)) }
    }

    /// Looks every key up in the pattern tables, as if the bit filters hit everywhere (slow):
    /// to check that the filters turn away no match.
    func saturateFilters() {
        writing { $0.saturateFilters() }
    }

    /// Number of secrets being searched for.
    public var count: Int { reading { $0.activeCount } }

    /// Forgets every registered value (tests, and the end of a run).
    public func removeAll() {
        writing { index in
            index.wipe()
            index = RedactionIndex()
        }
    }

    /// `text` with every registered value, in every form, replaced by `[REDACTED]`.
    public func redact(_ text: String) -> String {
        var text = text
        let redacted = text.withUTF8 { redactIfNeeded($0) }
        guard let redacted else { return text }
        return String(decoding: redacted, as: UTF8.self)
    }

    /// `bytes` with every registered value replaced (for files: HAR recordings, reports).
    public func redact(bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { redactIfNeeded($0) } ?? bytes
    }

    /// Whether `text` contains any registered value in any form.
    public func containsSecret(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            reading { index in
                guard index.activeCount > 0, buffer.count > 0 else { return false }
                var scanner = RedactionScanner()
                scanner.scan(buffer, base: 0, final: true, index: index)
                return !scanner.spans.isEmpty
            }
        }
    }

    /// The byte ranges of `bytes` that redaction replaces (overlapping ranges merged), for tests.
    func hiddenRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        let spans = bytes.withUnsafeBufferPointer { buffer in
            reading { index -> [(start: Int, end: Int)] in
                guard index.activeCount > 0, buffer.count > 0 else { return [] }
                var scanner = RedactionScanner()
                scanner.scan(buffer, base: 0, final: true, index: index)
                return scanner.spans
            }
        }
        var ranges: [Range<Int>] = []
        for span in spans.sorted(by: { $0.start < $1.start }) {
            if let last = ranges.last, span.start <= last.upperBound {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, span.end)
            } else {
                ranges.append(span.start..<span.end)
            }
        }
        return ranges
    }

    /// nil when nothing was found.
    func redactIfNeeded(_ buffer: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let spans = reading { index -> [(start: Int, end: Int)] in
            guard index.activeCount > 0, buffer.count > 0 else { return [] }
            var scanner = RedactionScanner()
            scanner.scan(buffer, base: 0, final: true, index: index)
            return scanner.spans
        }
        guard !spans.isEmpty else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(buffer.count)
        var copied = 0
        Redactor.apply(spans, upTo: buffer.count, from: &copied) { range in
            if let range {
                output.append(contentsOf: buffer[range])
            } else {
                output.append(contentsOf: Redactor.markerBytes)
            }
        }
        return output
    }

    /// Walks `spans` (in any order, overlapping or not) over the text from `copied` to `limit`:
    /// hands `emit` each plain range, and nil for each marker. Overlapping spans give one marker;
    /// a span that ends past `limit` moves `copied` past it.
    static func apply(
        _ spans: [(start: Int, end: Int)], upTo limit: Int, from copied: inout Int, emit: (Range<Int>?) -> Void
    ) {
        let ordered =
            spans.count > 1 ? spans.sorted { $0.start < $1.start || ($0.start == $1.start && $0.end > $1.end) } : spans
        for span in ordered where span.end > copied {
            if span.start > copied {
                guard span.start <= limit else { break }
                emit(copied..<span.start)
                emit(nil)
            } else if span.start == copied {
                emit(nil)
            }
            // A span starting inside the last marker only extends what it hides.
            copied = span.end
        }
        if copied < limit {
            emit(copied..<limit)
            copied = limit
        }
    }

    /// A stream that redacts what is written to it, buffer by buffer, and hands the redacted
    /// bytes to `sink` as soon as they can no longer be part of a secret.
    public func stream(into sink: @escaping (UnsafeRawBufferPointer) throws -> Void) -> RedactionStream {
        RedactionStream(redactor: self, sink: sink)
    }
}

/// Redacts a text that arrives in pieces (a file written as it is produced, a pipe): a secret
/// split across two writes is redacted like one written whole. Bytes that might still begin a
/// secret are held back (a few dozen at most, more inside a long escape) until the next write
/// or `finish`.
public final class RedactionStream {
    private let redactor: Redactor
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var scanner = RedactionScanner()
    /// Bytes from offset `base` on that are not yet emitted or may still be needed.
    private var buffer: [UInt8] = []
    private var base = 0
    /// Everything before this offset has been handed to the sink (as text or as a marker).
    private var emitted = 0
    private var finished = false

    init(redactor: Redactor, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.redactor = redactor
        self.sink = sink
    }

    /// Adds bytes to the stream.
    public func write<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
        precondition(!finished, "write after finish")
        buffer.append(contentsOf: bytes)
        try advance(final: false)
    }

    /// Adds text to the stream.
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Emits whatever is held back; the stream takes no more writes.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try advance(final: true)
    }

    private func advance(final: Bool) throws {
        let safe = buffer.withUnsafeBufferPointer { text -> Int in
            redactor.reading { index in
                scanner.scan(text, base: base, final: final, index: index)
            }
            return final ? base + text.count : scanner.safePoint
        }
        // Spans found so far that start before the safe point are settled.
        var settled: [(start: Int, end: Int)] = []
        var open: [(start: Int, end: Int)] = []
        for span in scanner.spans { if span.start < safe { settled.append(span) } else { open.append(span) } }
        scanner.spans = open
        var chunk: [UInt8] = []
        let limit = max(emitted, safe)
        Redactor.apply(settled, upTo: limit, from: &emitted) { range in
            if let range {
                chunk.append(contentsOf: buffer[(range.lowerBound - base)..<(range.upperBound - base)])
            } else {
                chunk.append(contentsOf: Redactor.markerBytes)
            }
        }
        if !chunk.isEmpty { try chunk.withUnsafeBytes { try sink($0) } }
        // Keep only what the scanner may still read.
        let keepFrom = min(emitted, safe, scanner.node)
        if keepFrom - base > 4096 || (final && keepFrom > base) {
            buffer.removeFirst(keepFrom - base)
            base = keepFrom
        }
    }
}
