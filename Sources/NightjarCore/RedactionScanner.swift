/// One reading of a few bytes of text: the byte itself, or an escape (`%41`, `%2541`, `+`,
/// `\u00e9`, `\\\"`, `&amp;`, `&#xE9;`) and the bytes it stands for.
struct RedactionUnit {
    /// Where the unit ends (exclusive, absolute offset).
    var end: Int
    /// Up to four decoded bytes, the first in the lowest eight bits.
    var bytes: UInt32
    var count: Int
    /// The text's own byte, not an escape.
    var raw: Bool
}

/// The decoded bytes seen along one way of reading the text: the last five at most, with where
/// each began (merged ways keep the earliest and latest start of each byte).
struct RedactionWindow: Equatable {
    var key: UInt64 = 0
    var count = 0
    /// Starts of the bytes, oldest first in the last `count` places.
    var low: (Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0)
    var high: (Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0)

    static func == (a: RedactionWindow, b: RedactionWindow) -> Bool {
        a.key == b.key && a.count == b.count && a.low == b.low && a.high == b.high
    }

    /// Earliest and latest start of the oldest byte.
    var oldest: (low: Int, high: Int) { (low.0, high.0) }

    mutating func push(_ byte: UInt8, low newLow: Int, high newHigh: Int) {
        key = (key << 8 | UInt64(byte)) & 0xFF_FFFF_FFFF
        if count < 5 { count += 1 }
        low = (low.1, low.2, low.3, low.4, newLow)
        high = (high.1, high.2, high.3, high.4, newHigh)
    }

    /// Keeps the newest `length` bytes.
    mutating func trim(to length: Int) {
        guard length < count else { return }
        count = length
        key &= length == 0 ? 0 : (1 << UInt64(8 * length)) - 1
    }

    /// Whether `other` holds the last bytes of this window (the same bytes, or fewer of them):
    /// every key `other` could complete, this one completes too, once their start ranges merge.
    @inline(__always)
    func absorbs(_ other: RedactionWindow) -> Bool {
        other.count <= count && (other.count == 0 || key & ((1 << UInt64(8 * other.count)) - 1) == other.key)
    }

    /// Folds in `other`, which this window absorbs, keeping the widest start range of each byte
    /// they share (the bytes `other` does not hold keep their own).
    mutating func merge(_ other: RedactionWindow) {
        guard other.count > 0 else { return }
        if other.count < 5 {
            // Bytes older than `other` holds: treat them as unbounded on its side.
            var widened = other
            let keep = other.count
            let far = Int.max
            let near = Int.min
            if keep < 5 {
                widened.low.0 = far
                widened.high.0 = near
            }
            if keep < 4 {
                widened.low.1 = far
                widened.high.1 = near
            }
            if keep < 3 {
                widened.low.2 = far
                widened.high.2 = near
            }
            if keep < 2 {
                widened.low.3 = far
                widened.high.3 = near
            }
            mergeRanges(widened)
        } else {
            mergeRanges(other)
        }
    }

    private mutating func mergeRanges(_ other: RedactionWindow) {
        low = (
            min(low.0, other.low.0), min(low.1, other.low.1), min(low.2, other.low.2), min(low.3, other.low.3),
            min(low.4, other.low.4)
        )
        high = (
            max(high.0, other.high.0), max(high.1, other.high.1), max(high.2, other.high.2), max(high.3, other.high.3),
            max(high.4, other.high.4)
        )
    }

    /// The earliest start of any byte still held (what a stream must keep).
    var earliest: Int {
        switch count {
        case 5: low.0
        case 4: low.1
        case 3: low.2
        case 2: low.3
        case 1: low.4
        default: Int.max
        }
    }
}

/// Frees the scratch storage of a scan when the scanner goes.
final class RedactionScratchOwner {
    var blocks: [UnsafeMutableRawPointer] = []
    deinit { for block in blocks { block.deallocate() } }

    func allocate<T>(_ type: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        blocks.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    func release(_ pointer: UnsafeMutableRawPointer) {
        blocks.removeAll { $0 == pointer }
        pointer.deallocate()
    }
}

/// Fixed storage for the ways of reading that are live at once, allocated on the first escape
/// a scan meets and reused for every byte after. A value type (with an owner that frees it), so
/// the hot loop pays no dynamic exclusivity checks.
struct RedactionScratch {
    /// Not touched per byte: only to allocate and, with the scanner, to free.
    private unowned(unsafe) let owner: RedactionScratchOwner
    private(set) var windows: UnsafeMutablePointer<RedactionWindow>
    private(set) var next: UnsafeMutablePointer<RedactionWindow>
    var windowCount = 0
    var nextCount = 0
    private var windowCapacity = 16
    private(set) var arrivals: UnsafeMutablePointer<(node: Int, window: RedactionWindow)>
    var arrivalCount = 0
    private var arrivalCapacity = 32
    let units: UnsafeMutablePointer<RedactionUnit>
    /// Readings for confirmations, which run while `units` is in use.
    let matchUnits: UnsafeMutablePointer<RedactionUnit>

    init(owner: RedactionScratchOwner) {
        self.owner = owner
        windows = owner.allocate(RedactionWindow.self, capacity: windowCapacity)
        next = owner.allocate(RedactionWindow.self, capacity: windowCapacity)
        arrivals = owner.allocate((node: Int, window: RedactionWindow).self, capacity: arrivalCapacity)
        units = owner.allocate(RedactionUnit.self, capacity: 16)
        matchUnits = owner.allocate(RedactionUnit.self, capacity: 16)
    }

    mutating func swapWindows() {
        swap(&windows, &next)
        windowCount = nextCount
        nextCount = 0
    }

    /// Adds to `next`, merging with a window that holds the same bytes.
    @inline(__always)
    mutating func addNext(_ window: RedactionWindow) {
        for slot in 0..<nextCount {
            if next[slot].absorbs(window) {
                next[slot].merge(window)
                return
            }
            if window.absorbs(next[slot]) {
                var wider = window
                wider.merge(next[slot])
                next[slot] = wider
                return
            }
        }
        if nextCount == windowCapacity { growWindows() }
        next[nextCount] = window
        nextCount += 1
    }

    /// Only in hostile text: more readings than usual are alive at once.
    private mutating func growWindows() {
        let capacity = windowCapacity * 2
        let grownWindows = owner.allocate(RedactionWindow.self, capacity: capacity)
        grownWindows.update(from: windows, count: windowCount)
        owner.release(UnsafeMutableRawPointer(windows))
        windows = grownWindows
        let grownNext = owner.allocate(RedactionWindow.self, capacity: capacity)
        grownNext.update(from: next, count: nextCount)
        owner.release(UnsafeMutableRawPointer(next))
        next = grownNext
        windowCapacity = capacity
    }

    mutating func addArrival(_ node: Int, _ window: RedactionWindow) {
        for slot in 0..<arrivalCount where arrivals[slot].node == node {
            if arrivals[slot].window.absorbs(window) {
                arrivals[slot].window.merge(window)
                return
            }
            if window.absorbs(arrivals[slot].window) {
                var wider = window
                wider.merge(arrivals[slot].window)
                arrivals[slot].window = wider
                return
            }
        }
        if arrivalCount == arrivalCapacity {
            let grown = owner.allocate((node: Int, window: RedactionWindow).self, capacity: arrivalCapacity * 2)
            grown.update(from: arrivals, count: arrivalCount)
            owner.release(UnsafeMutableRawPointer(arrivals))
            arrivals = grown
            arrivalCapacity *= 2
        }
        arrivals[arrivalCount] = (node, window)
        arrivalCount += 1
    }

    /// Moves the windows waiting for `node` into `next`.
    mutating func collectArrivals(at node: Int) {
        var slot = 0
        while slot < arrivalCount {
            if arrivals[slot].node == node {
                addNext(arrivals[slot].window)
                arrivalCount -= 1
                arrivals[slot] = arrivals[arrivalCount]
            } else {
                slot += 1
            }
        }
    }
}

/// The index's hot tables as raw pointers, taken once per scan (the index does not change
/// while a scan holds the read lock).
struct RedactionTables {
    let filter: UnsafePointer<UInt64>
    let filterCheck: UnsafePointer<UInt64>
    let shift: UInt64
    let prefix1: UnsafePointer<UInt64>
    let prefix2: UnsafePointer<UInt64>
    let prefixLong: UnsafePointer<UInt64>
    let prefixShift: UInt64
    let secrets: Patterns
    let exact: Patterns
    let secretActive: UnsafePointer<Bool>
    let exactOwner: UnsafePointer<Int32>
    let secretByteSet: UnsafePointer<UInt64>

    /// One set of patterns: the key table and the chained patterns' bytes.
    struct Patterns {
        let keys: UnsafePointer<UInt64>
        let heads: UnsafePointer<Int32>
        let mask: Int
        let next: UnsafePointer<Int32>
        let start: UnsafePointer<Int32>
        let length: UnsafePointer<Int32>
        let bytes: UnsafePointer<UInt8>
        let count: Int

        init(
            table: KeyTable, next: FlatStorage<Int32>, start: FlatStorage<Int32>, length: FlatStorage<Int32>,
            bytes: FlatStorage<UInt8>
        ) {
            keys = UnsafePointer(table.keys.base)
            heads = UnsafePointer(table.heads.base)
            mask = table.mask
            self.next = UnsafePointer(next.base)
            self.start = UnsafePointer(start.base)
            self.length = UnsafePointer(length.base)
            self.bytes = UnsafePointer(bytes.base)
            count = start.count
        }

        /// The newest pattern with `key`, or -1.
        @inline(__always)
        func head(_ key: UInt64) -> Int32 {
            let stored = key &+ 1
            var slot = KeyTable.slot(key, mask)
            while true {
                let found = keys[slot]
                if found == stored { return heads[slot] }
                if found == 0 { return -1 }
                slot = (slot + 1) & mask
            }
        }

        func pattern(_ id: Int32) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: bytes + Int(start[Int(id)]), count: Int(length[Int(id)]))
        }
    }

    init(_ index: RedactionIndex) {
        prefixShift = index.prefixShift
        secrets = Patterns(
            table: index.secretTable, next: index.secretNext, start: index.secretStart, length: index.secretLength,
            bytes: index.secretBytes)
        exact = Patterns(
            table: index.exactTable, next: index.exactNext, start: index.exactStart, length: index.exactLength,
            bytes: index.exactBytes)
        secretActive = UnsafePointer(index.secretActive.base)
        exactOwner = UnsafePointer(index.exactOwner.base)
        filter = UnsafePointer(index.filter.base)
        filterCheck = UnsafePointer(index.filterCheck.base)
        shift = index.filterShift
        prefix1 = UnsafePointer(index.prefix1.base)
        prefix2 = UnsafePointer(index.prefix2.base)
        prefixLong = UnsafePointer(index.prefixLong.base)
        secretByteSet = UnsafePointer(index.secretByteSet.base)
    }

    /// Cuts `window` back to its longest ending that may still begin a secret.
    @inline(__always)
    func trim(_ window: inout RedactionWindow) {
        window.trim(to: longestBeginning(window.key, count: window.count))
    }

    /// The length of the longest ending of the last `count` bytes of `key` that may begin a
    /// secret (`mayBegin` from `count` down, its probes unrolled).
    @inline(__always)
    func longestBeginning(_ key: UInt64, count: Int) -> Int {
        var length = count
        while length >= 3 {
            let prefix = key & ((1 &<< UInt64(8 &* length)) &- 1)
            let bit = RedactionIndex.prefixBit(prefix, length: length, shift: prefixShift)
            if prefixLong[bit &>> 6] &>> UInt64(bit & 63) & 1 != 0 { return length }
            length &-= 1
        }
        if length == 2 {
            let pair = Int(truncatingIfNeeded: key & 0xFFFF)
            if prefix2[pair &>> 6] &>> UInt64(pair & 63) & 1 != 0 { return 2 }
            length = 1
        }
        if length == 1 {
            let byte = Int(truncatingIfNeeded: key & 0xFF)
            if prefix1[byte &>> 6] &>> UInt64(byte & 63) & 1 != 0 { return 1 }
        }
        return 0
    }

    /// Whether `byte` occurs in some secret.
    @inline(__always)
    func occursInSecrets(_ byte: UInt8) -> Bool {
        secretByteSet[Int(byte &>> 6)] &>> UInt64(byte & 63) & 1 != 0
    }

    @inline(__always)
    func hits(_ key: UInt64) -> Bool {
        let bit = RedactionIndex.filterBit(key, shift: shift)
        return filter[bit >> 6] >> UInt64(bit & 63) & 1 != 0 && passesCheck(key)
    }

    /// The second bit of a key whose first bit is set.
    @inline(__always)
    func passesCheck(_ key: UInt64) -> Bool {
        let bit = RedactionIndex.checkBit(key, shift: shift &+ 2)
        return filterCheck[bit >> 6] >> UInt64(bit & 63) & 1 != 0
    }

    /// Whether the last `length` bytes of `key` (1 to 5) may begin a secret.
    @inline(__always)
    func mayBegin(_ key: UInt64, length: Int) -> Bool {
        switch length {
        case 1:
            let byte = Int(key & 0xFF)
            return prefix1[byte >> 6] >> UInt64(byte & 63) & 1 != 0
        case 2:
            let pair = Int(key & 0xFFFF)
            return prefix2[pair >> 6] >> UInt64(pair & 63) & 1 != 0
        default:
            let prefix = key & ((1 << UInt64(8 * length)) - 1)
            let bit = RedactionIndex.prefixBit(prefix, length: length, shift: prefixShift)
            return prefixLong[bit >> 6] >> UInt64(bit & 63) & 1 != 0
        }
    }
}

/// The scan: one pass over the text, reading it every way it can be read at once.
///
/// The text is a lattice: from each byte there is the plain reading (the byte itself) and, at
/// `%`, `+`, `\` and `&`, the escapes that start there. The scanner walks the lattice forward
/// keeping, per way of reading, its last decoded bytes (`RedactionWindow`), cut back to the
/// longest ending that may still begin a secret (as an Aho–Corasick state is); ways that agree
/// on those are merged, so plain text holds one window and an escape adds one for a byte or two.
/// Each decoded byte that completes six makes a key, probed in the index's bit filter; a hit (a
/// registered secret's first six bytes, or an exact form's) is confirmed by matching that
/// pattern from where the key began, through the same lattice, keeping the longest match.
///
/// Each byte costs one filter probe while one way of reading is live (the fast path, eight bytes
/// at a time, see `plainRun`), a few more around escapes; the cost does not grow with the number
/// of secrets, and confirmation runs only where both filter bits of a key are set. Nothing is allocated per byte. The scanner keeps its
/// state between calls, so a stream can feed it buffer by buffer: a secret split across two
/// writes is still found.
struct RedactionScanner {
    /// Escape runs of backslashes longer than this are read byte by byte only.
    static let longestBackslashRun = 32
    /// Bytes an escape may need after its first: a surrogate pair behind two runs of backslashes.
    static let lookahead = 2 * longestBackslashRun + 16

    /// Offset of the next byte to read.
    private(set) var node = 0
    /// Whether one way of reading is live (the fast path): `single` as it stood at `singleFrom`,
    /// every byte read since then taken as written.
    private var isSingle = true
    private var single = RedactionWindow()
    private var singleFrom = 0
    /// The last five bytes as written, and how many (the exact forms are matched on these).
    private var rawKey: UInt64 = 0
    private var rawCount = 0
    /// The exact forms (base64, hex) never hold `%`, `&` or `\\`: six bytes as written that hold
    /// one are not probed. The first offset past the last such six.
    private var rawCleanFrom = 0
    /// The live ways of reading when there are several.
    private var scratch: RedactionScratch?
    /// Frees `scratch`'s storage with the scanner.
    private var scratchOwner: RedactionScratchOwner?
    /// Readings for confirmations (storage owned by `scratch`).
    private var matchUnits: UnsafeMutablePointer<RedactionUnit>?
    /// The index's tables for the scan under way.
    private var tables: RedactionTables?
    /// Confirmations that ran past the end of what has arrived (streams only).
    private var pending: [(start: Int, pattern: Int32, exact: Bool)] = []
    /// For recently confirmed patterns, the run of starts already confirmed: not to confirm twice
    /// (inside a long run of escapes, neighbouring keys hit with overlapping ranges of starts).
    private var recent: [(pattern: Int32, low: Int, high: Int)] = []
    /// For recently matched patterns, where their last match ended: a start inside it is not
    /// confirmed again (the match already hides it).
    private var covered: [(pattern: Int32, until: Int)] = []
    /// What was found: ranges to replace.
    var spans: [(start: Int, end: Int)] = []
    private var matchLayers: [[Int]] = []

    /// `%`, `+`, `\` or `&`: where an escape may start.
    @inline(__always)
    static func isEscapeStart(_ byte: UInt8) -> Bool {
        // Bits 37 (%), 38 (&) and 43 (+) of the first 64 byte values, bit 28 of the next (92, \\).
        byte < 64 ? (0x0000_0860_0000_0000 as UInt64) >> UInt64(byte) & 1 != 0 : byte == 92
    }

    /// The single window as it stands at `node`.
    private var currentSingle: RedactionWindow {
        if node - singleFrom >= 5 {
            // Every byte held was read as written.
            var window = RedactionWindow()
            window.key = windowKey & 0xFF_FFFF_FFFF
            window.count = 5
            window.low = (node - 5, node - 4, node - 3, node - 2, node - 1)
            window.high = window.low
            return window
        }
        var window = single
        var position = singleFrom
        while position < node {
            window.push(
                UInt8(truncatingIfNeeded: windowKey >> UInt64(8 * (node - 1 - position))), low: position, high: position
            )
            position += 1
        }
        return window
    }
    /// The single window's bytes at `node` (kept by the fast path).
    private var windowKey: UInt64 = 0

    /// The earliest offset a match not yet found could start at: what a stream may not emit yet.
    var safePoint: Int {
        var point = node - rawCount
        if isSingle {
            point = min(point, currentSingle.earliest)
        } else if let scratch {
            for slot in 0..<scratch.windowCount { point = min(point, scratch.windows[slot].earliest) }
            for slot in 0..<scratch.arrivalCount { point = min(point, scratch.arrivals[slot].window.earliest) }
        }
        for item in pending { point = min(point, item.start) }
        return min(point, node)
    }

    /// Reads `text` (whose first byte is at offset `base`) from `node` on. Unless `final`, it stops
    /// where an escape or a confirmation needs bytes that have not arrived.
    mutating func scan(_ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex) {
        let end = base + text.count
        let tables = RedactionTables(index)
        self.tables = tables
        if !pending.isEmpty { retryPending(text, base: base, final: final, index: index) }
        guard let bytes = text.baseAddress else { return }
        loop: while node < end {
            if isSingle {
                // The fast path: one way of reading, bytes as written since `singleFrom`. Two rolling
                // keys: the window's (for secrets) and the bytes as written (for exact forms); once
                // five plain bytes have passed they are the same and one probe serves both. The inner
                // loop makes no call, so it runs in registers; a filter hit leaves it to be confirmed.
                var position = node
                var key = windowKey
                var raw = rawKey
                let shifted = bytes - base
                let windowFrom = singleFrom + 5 - single.count
                let rawFrom = max(rawCleanFrom, node + 5 - rawCount)
                // Until the window is the last five bytes as written.
                let alignedFrom = max(singleFrom + 5, node + 5 - rawCount)
                while position < end && position < alignedFrom {
                    let byte = shifted[position]
                    if RedactionScanner.isEscapeStart(byte)
                        && !RedactionScanner.readsAsWritten(
                            at: position, text, base: base, final: final, tables: tables)
                    {
                        break
                    }
                    let candidate = (key &<< 8 | UInt64(byte)) & RedactionIndex.keyMask
                    let rawCandidate = (raw &<< 8 | UInt64(byte)) & RedactionIndex.keyMask
                    if position >= windowFrom && tables.mayBegin(key, length: 5) && tables.hits(candidate) {
                        let oldest = oldestStart(at: position)
                        confirm(
                            candidate, low: oldest.low, high: oldest.high, text, base: base, final: final, index: index)
                    }
                    if position >= rawFrom && tables.hits(rawCandidate) {
                        confirmExact(rawCandidate, start: position - 5, text, base: base, final: final, index: index)
                    }
                    key = candidate
                    raw = rawCandidate
                    position &+= 1
                }
                if position >= alignedFrom {
                    // Aligned: one key, one probe per byte (see `plainRun`); a filter hit is confirmed here.
                    var rolling = raw
                    let cleanFrom = rawFrom
                    while position < end {
                        let stop = RedactionScanner.plainRun(
                            text, from: position - base, key: &rolling, final: final, tables: tables)
                        position = base + stop.offset
                        guard stop.hit else { break }
                        confirm(
                            rolling, low: position - 5, high: position - 5, text, base: base, final: final, index: index
                        )
                        if position >= cleanFrom {
                            confirmExact(rolling, start: position - 5, text, base: base, final: final, index: index)
                        }
                        position += 1
                    }
                    key = rolling
                    raw = rolling
                }
                key &= 0xFF_FFFF_FFFF
                raw &= 0xFF_FFFF_FFFF
                rawCount = min(5, rawCount + (position - node))
                node = position
                windowKey = key
                rawKey = raw
                if node >= end { break }
                if scratch == nil {
                    scratch = RedactionScratch(owner: newScratchOwner())
                    matchUnits = scratch!.matchUnits
                }
                // An escape starts here: most have one reading besides the bytes as written, and are
                // read both ways at once; the rest go through the general step.
                switch passEscape(text, base: base, final: final, index: index, tables: tables) {
                case .passed: continue
                case .needsMore: break loop
                case .general:
                    scratch!.windows[0] = currentSingle
                    scratch!.windowCount = 1
                    scratch!.nextCount = 0
                    isSingle = false
                }
            }
            guard step(text, base: base, final: final, index: index) else { break }
        }
        if final {
            node = max(node, end)
            pending.removeAll()
        }
    }

    /// The fast path's inner loop, over bytes read as written from `offset` (in `text`) on, while
    /// `key` holds the last six of them: each byte is rolled into `key` and the key probed in the
    /// filter. Stops at a byte whose key hits (rolled in, `hit`), at an escape start that may be
    /// read otherwise (not rolled in) or at the end; returns that offset.
    ///
    /// Eight bytes at a time: one load finds the escape starts among them, and each key is read
    /// straight from the text (the eight bytes ending with it, byte-swapped) rather than rolled,
    /// so the probes do not wait on one another; eight bytes with no escape are probed with no
    /// branch between them, and read again one by one only when one of them hits. No call but at
    /// an escape the next bytes do not decide, so the loop runs in registers.
    @inline(never)
    static func plainRun(
        _ text: UnsafeBufferPointer<UInt8>, from offset: Int, key: inout UInt64, final: Bool, tables: RedactionTables
    ) -> (offset: Int, hit: Bool) {
        let bytes = text.baseAddress!
        let count = text.count
        let raw = UnsafeRawPointer(bytes)
        let filter = tables.filter
        let shift = tables.shift
        var at = offset
        var rolling = key
        @inline(__always) func probe(_ candidate: UInt64) -> Bool {
            let bit = Int(truncatingIfNeeded: (candidate &* 0x9E37_79B9_7F4A_7C15) &>> shift)
            return filter[bit &>> 6] &>> UInt64(bit & 63) & 1 != 0 && tables.passesCheck(candidate)
        }
        while at < count {
            if at >= 7 && at + 8 <= count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                let escapes = escapeStarts(word)
                if escapes == 0 {
                    // The usual case: eight probes with no branch between them, most often all misses.
                    var any: UInt64 = 0
                    for next in 0..<8 {
                        let candidate =
                            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: at &+ next &- 7, as: UInt64.self))
                            & RedactionIndex.keyMask
                        let bit = Int(truncatingIfNeeded: (candidate &* 0x9E37_79B9_7F4A_7C15) &>> shift)
                        any |= filter[bit &>> 6] &>> UInt64(bit & 63)
                    }
                    if any & 1 == 0 {
                        at &+= 8
                        rolling = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: at &- 8, as: UInt64.self))
                        continue
                    }
                }
                let plain = escapes == 0 ? 8 : escapes.trailingZeroBitCount &>> 3
                var next = 0
                while next < plain {
                    let candidate =
                        UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: at &+ next &- 7, as: UInt64.self))
                        & RedactionIndex.keyMask
                    if probe(candidate) {
                        key = candidate
                        return (at &+ next, true)
                    }
                    next &+= 1
                }
                if plain > 0 {
                    at &+= plain
                    rolling = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: at &- 8, as: UInt64.self))
                }
                if plain == 8 { continue }
            } else if !isEscapeStart(bytes[at]) {
                rolling = (rolling &<< 8 | UInt64(bytes[at])) & RedactionIndex.keyMask
                if probe(rolling) {
                    key = rolling
                    return (at, true)
                }
                at &+= 1
                continue
            }
            // An escape start: read on over it only if no secret can be read through it.
            let asWritten =
                readsAsWrittenByNextByte(at: at, text, base: 0, final: final, tables: tables)
                ?? readsAsWrittenByEveryReading(at: at, text, base: 0, final: final, tables: tables)
            guard asWritten else { break }
            rolling = (rolling &<< 8 | UInt64(bytes[at])) & RedactionIndex.keyMask
            if probe(rolling) {
                key = rolling
                return (at, true)
            }
            at &+= 1
        }
        key = rolling & RedactionIndex.keyMask
        return (at, false)
    }

    /// The high bit of each byte of `word` that is `%`, `&`, `+` or `\\` (exact for the lowest one
    /// set, which is all `plainRun` reads).
    @inline(__always)
    static func escapeStarts(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let percent = word ^ (ones &* 0x25)
        let ampersand = word ^ (ones &* 0x26)
        let plus = word ^ (ones &* 0x2B)
        let backslash = word ^ (ones &* 0x5C)
        let zero =
            ((percent &- ones) & ~percent) | ((ampersand &- ones) & ~ampersand) | ((plus &- ones) & ~plus)
            | ((backslash &- ones) & ~backslash)
        return zero & (ones &* 0x80)
    }

    /// Whether the escape that may start at `position` is read only as written: it has no other
    /// reading, or one that stands for a single byte found in no secret (a `\"` or `\n` in JSON
    /// when no secret holds a quote or a line break), so no secret can be read through it and
    /// the fast path goes on over it. False when the escape may continue past what has arrived.
    @inline(never)
    static func readsAsWritten(
        at position: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool,
        tables: RedactionTables
    ) -> Bool {
        readsAsWrittenByNextByte(at: position, text, base: base, final: final, tables: tables)
            ?? readsAsWrittenByEveryReading(at: position, text, base: base, final: final, tables: tables)
    }

    /// `readsAsWritten` from every reading that starts at `position`.
    @inline(never)
    static func readsAsWrittenByEveryReading(
        at position: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool,
        tables: RedactionTables
    ) -> Bool {
        withUnsafeTemporaryAllocation(of: RedactionUnit.self, capacity: 16) { storage in
            guard let count = units(at: position, text, base: base, final: final, into: storage.baseAddress!) else {
                return false
            }
            if count == 1 { return true }
            return count == 2 && storage[1].count == 1
                && !tables.occursInSecrets(UInt8(truncatingIfNeeded: storage[1].bytes))
        }
    }

    /// `readsAsWritten` for the escapes the next few bytes decide (`\"`, `\n`, `+`, `%2F`, `&amp;`,
    /// a `%` or `&` that begins no escape), the most common in JSON and URLs; nil when the escape
    /// needs the full reading (`\u`, a run of backslashes, `%25`, other entities).
    @inline(__always)
    static func readsAsWrittenByNextByte(
        at position: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, tables: RedactionTables
    ) -> Bool? {
        let end = base + text.count
        let byte = text[position - base]
        guard isEscapeStart(byte) else { return true }
        // As `units`: an escape that may run past what has arrived waits for more.
        if !final && position + lookahead > end { return false }
        if byte == 43 { return !tables.occursInSecrets(32) }
        // At the very end no escape but `+` has room for a second byte.
        guard position + 1 < end else { return true }
        let next = text[position + 1 - base]
        switch byte {
        case 92:
            switch next {
            case 110: return !tables.occursInSecrets(10)
            case 116: return !tables.occursInSecrets(9)
            case 114: return !tables.occursInSecrets(13)
            case 98: return !tables.occursInSecrets(8)
            case 102: return !tables.occursInSecrets(12)
            case 34, 47: return !tables.occursInSecrets(next)
            case 92, 117: return nil
            default: return true
            }
        case 37:
            // `%XX` stands for one byte (`%25XX` may stand for another: read in full).
            guard let high = hexValue(next) else { return true }
            guard position + 2 < end, let low = hexValue(text[position + 2 - base]) else { return true }
            let value = high << 4 | low
            return value == 0x25 ? nil : !tables.occursInSecrets(value)
        default:
            // `&`: entities begin with `#` or the first letter of a name read (amp, lt, gt, quot, apos, nbsp).
            switch next {
            case 97:
                // `&amp;`, the one most text holds.
                guard position + 4 < end, text[position + 2 - base] == 109, text[position + 3 - base] == 112,
                    text[position + 4 - base] == 59
                else { return nil }
                return !tables.occursInSecrets(38)
            case 35, 108, 103, 113, 110: return nil
            default: return true
            }
        }
    }

    /// The value of a hexadecimal digit (either case).
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte &- 48
        case 65...70: byte &- 55
        case 97...102: byte &- 87
        default: nil
        }
    }

    private mutating func newScratchOwner() -> RedactionScratchOwner {
        let owner = RedactionScratchOwner()
        scratchOwner = owner
        return owner
    }

    enum EscapePass { case passed, needsMore, general }

    /// On the fast path, at an escape with exactly one reading besides the bytes as written and
    /// no other escape inside it: follows both readings to the escape's end and, when one window
    /// absorbs the other, carries on with one (else with two, on the general path).
    private mutating func passEscape(
        _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex, tables: RedactionTables
    ) -> EscapePass {
        let units = scratch!.units
        guard let count = RedactionScanner.units(at: node, text, base: base, final: final, into: units) else {
            return .needsMore
        }
        guard count == 2 else { return .general }
        let escape = units[1]
        var position = node + 1
        while position < escape.end {
            if RedactionScanner.isEscapeStart(text[position - base]) { return .general }
            position += 1
        }
        let window = currentSingle
        var decoded = window
        for offset in 0..<escape.count {
            let byte = UInt8(truncatingIfNeeded: escape.bytes >> UInt32(8 * offset))
            if decoded.count == 5 {
                let candidate = (decoded.key << 8 | UInt64(byte)) & RedactionIndex.keyMask
                if tables.hits(candidate) {
                    confirm(
                        candidate, low: decoded.oldest.low, high: decoded.oldest.high, text, base: base, final: final,
                        index: index)
                }
            }
            decoded.push(byte, low: node, high: node)
        }
        var raw = window
        for position in node..<escape.end {
            let byte = text[position - base]
            if raw.count == 5 {
                let candidate = (raw.key << 8 | UInt64(byte)) & RedactionIndex.keyMask
                if tables.hits(candidate) {
                    confirm(
                        candidate, low: raw.oldest.low, high: raw.oldest.high, text, base: base, final: final,
                        index: index)
                }
            }
            raw.push(byte, low: position, high: position)
            let rawCandidate = (rawKey << 8 | UInt64(byte)) & RedactionIndex.keyMask
            if byte != 43 && RedactionScanner.isEscapeStart(byte) { rawCleanFrom = position + 6 }
            if rawCount == 5 {
                if position >= rawCleanFrom && tables.hits(rawCandidate) {
                    confirmExact(rawCandidate, start: position - 5, text, base: base, final: final, index: index)
                }
            } else {
                rawCount += 1
            }
            rawKey = rawCandidate & 0xFF_FFFF_FFFF
        }
        tables.trim(&decoded)
        tables.trim(&raw)
        node = escape.end
        let end = base + text.count
        while true {
            if decoded.absorbs(raw) {
                decoded.merge(raw)
                single = decoded
                break
            }
            if raw.absorbs(decoded) {
                raw.merge(decoded)
                single = raw
                break
            }
            // Both readings are still live: follow them over the plain bytes that come next
            // (a step of the general path with two windows, without its bookkeeping); they
            // usually agree within a byte or two.
            guard node < end, !RedactionScanner.isEscapeStart(text[node - base]) else {
                scratch!.windows[0] = raw
                scratch!.windows[1] = decoded
                scratch!.windowCount = 2
                scratch!.nextCount = 0
                isSingle = false
                return .passed
            }
            let byte = text[node - base]
            if raw.count == 5 {
                let candidate = (raw.key << 8 | UInt64(byte)) & RedactionIndex.keyMask
                if tables.hits(candidate) {
                    confirm(
                        candidate, low: raw.oldest.low, high: raw.oldest.high, text, base: base, final: final,
                        index: index)
                }
            }
            if decoded.count == 5 {
                let candidate = (decoded.key << 8 | UInt64(byte)) & RedactionIndex.keyMask
                if tables.hits(candidate) {
                    confirm(
                        candidate, low: decoded.oldest.low, high: decoded.oldest.high, text, base: base, final: final,
                        index: index)
                }
            }
            raw.push(byte, low: node, high: node)
            decoded.push(byte, low: node, high: node)
            let rawCandidate = (rawKey << 8 | UInt64(byte)) & RedactionIndex.keyMask
            if rawCount == 5 {
                if node >= rawCleanFrom && tables.hits(rawCandidate) {
                    confirmExact(rawCandidate, start: node - 5, text, base: base, final: final, index: index)
                }
            } else {
                rawCount += 1
            }
            rawKey = rawCandidate & 0xFF_FFFF_FFFF
            tables.trim(&raw)
            tables.trim(&decoded)
            node += 1
        }
        singleFrom = node
        windowKey = single.key
        return .passed
    }

    /// Where the oldest byte of the six ending with the byte at `position` began, on the fast path.
    @inline(__always)
    private func oldestStart(at position: Int) -> (low: Int, high: Int) {
        let oldest = position - 5
        if oldest >= singleFrom { return (oldest, oldest) }
        // One of the bytes the single window held when the fast path began.
        switch singleFrom - oldest {
        case 5: return (single.low.0, single.high.0)
        case 4: return (single.low.1, single.high.1)
        case 3: return (single.low.2, single.high.2)
        case 2: return (single.low.3, single.high.3)
        default: return (single.low.4, single.high.4)
        }
    }

    /// Reads the byte at `node` every way it can be read. False when it needs bytes not yet here.
    private mutating func step(_ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex)
        -> Bool
    {
        // Taken out for the step, so confirmations (which mutate the scanner) do not overlap it.
        var lanes = scratch.take()!
        defer { scratch = lanes }
        let units = lanes.units
        let unitCount: Int
        let current = text[node - base]
        if RedactionScanner.isEscapeStart(current) {
            guard let count = RedactionScanner.units(at: node, text, base: base, final: final, into: units) else {
                return false
            }
            unitCount = count
        } else {
            units[0] = RedactionUnit(end: node + 1, bytes: UInt32(current), count: 1, raw: true)
            unitCount = 1
        }
        let tables = self.tables!
        // The text's own bytes, for the exact forms.
        let byte = text[node - base]
        let rawCandidate = (rawKey << 8 | UInt64(byte)) & RedactionIndex.keyMask
        if byte != 43 && RedactionScanner.isEscapeStart(byte) { rawCleanFrom = node + 6 }
        if rawCount == 5 {
            if node >= rawCleanFrom && tables.hits(rawCandidate) {
                confirmExact(rawCandidate, start: node - 5, text, base: base, final: final, index: index)
            }
        } else {
            rawCount += 1
        }
        rawKey = rawCandidate & 0xFF_FFFF_FFFF

        lanes.nextCount = 0
        for slot in 0..<lanes.windowCount {
            let window = lanes.windows[slot]
            for unitIndex in 0..<unitCount {
                let unit = units[unitIndex]
                var extended = window
                for offset in 0..<unit.count {
                    let decoded = UInt8(truncatingIfNeeded: unit.bytes >> UInt32(8 * offset))
                    if extended.count == 5 {
                        let candidate = (extended.key << 8 | UInt64(decoded)) & RedactionIndex.keyMask
                        if tables.hits(candidate) {
                            confirm(
                                candidate, low: extended.oldest.low, high: extended.oldest.high, text, base: base,
                                final: final, index: index)
                        }
                    }
                    extended.push(decoded, low: node, high: node)
                }
                // Keep only the longest ending that may still begin a secret.
                tables.trim(&extended)
                if unit.end == node + 1 { lanes.addNext(extended) } else { lanes.addArrival(unit.end, extended) }
            }
        }
        node += 1
        lanes.collectArrivals(at: node)
        lanes.swapWindows()
        // Back to the fast path once one way of reading is left.
        if lanes.arrivalCount == 0 && lanes.windowCount <= 1 {
            single = lanes.windowCount == 1 ? lanes.windows[0] : RedactionWindow()
            singleFrom = node
            windowKey = single.key
            isSingle = true
        }
        return true
    }

    // MARK: Confirmation

    /// A filter hit on `key` for a secret starting between `low` and `high`.
    private mutating func confirm(
        _ key: UInt64, low: Int, high: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool,
        index: RedactionIndex
    ) {
        let tables = self.tables!
        var id = tables.secrets.head(key)
        while id >= 0 {
            if tables.secretActive[Int(id)] {
                confirmSecret(id, from: max(low, base), through: high, text, base: base, final: final, index: index)
            }
            id = tables.secrets.next[Int(id)]
        }
    }

    /// Confirms secret `id` at every start from `low` through `high` not confirmed already.
    private mutating func confirmSecret(
        _ id: Int32, from low: Int, through high: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool,
        index: RedactionIndex
    ) {
        guard low <= high else { return }
        var known: (low: Int, high: Int)?
        if let slot = recent.firstIndex(where: { $0.pattern == id }) {
            known = (recent[slot].low, recent[slot].high)
            recent.remove(at: slot)
        }
        for start in low...high where known.map({ start < $0.low || start > $0.high }) ?? true {
            confirmSecret(id, start: start, text, base: base, final: final, index: index)
        }
        // Remember one contiguous run of confirmed starts per pattern.
        var run = (low: low, high: high)
        if let known, known.low <= high + 1, low <= known.high + 1 {
            run = (min(known.low, low), max(known.high, high))
        }
        if recent.count >= 8 { recent.removeFirst() }
        recent.append((id, run.low, run.high))
    }

    private mutating func confirmSecret(
        _ id: Int32, start: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex
    ) {
        if covered.contains(where: { $0.pattern == id && start < $0.until }) { return }
        let secret = tables!.secrets.pattern(id)
        let (matchEnd, incomplete) = longestMatch(secret, at: start, text, base: base, final: final)
        if matchEnd > start { spans.append((start, matchEnd)) }
        if incomplete {
            // The match may grow once more text arrives: confirmed again then, so it must not
            // count as covering its own start.
            pending.append((start, id, false))
        } else if matchEnd > start {
            covered.removeAll { $0.pattern == id }
            if covered.count >= 8 { covered.removeFirst() }
            covered.append((id, matchEnd))
        }
    }

    private mutating func confirmExact(
        _ key: UInt64, start: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex
    ) {
        let tables = self.tables!
        var id = tables.exact.head(key)
        while id >= 0 {
            if tables.secretActive[Int(tables.exactOwner[Int(id)])] {
                checkExact(id, start: start, text, base: base, final: final, index: index)
            }
            id = tables.exact.next[Int(id)]
        }
    }

    private mutating func checkExact(
        _ id: Int32, start: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex
    ) {
        let pattern = tables!.exact.pattern(id)
        let length = pattern.count
        let available = base + text.count - start
        let compared = min(length, available)
        for offset in 0..<compared where text[start - base + offset] != pattern[offset] { return }
        if compared == length {
            spans.append((start, start + length))
        } else if !final {
            pending.append((start, id, true))
        }
    }

    private mutating func retryPending(
        _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, index: RedactionIndex
    ) {
        let waiting = pending
        pending.removeAll(keepingCapacity: true)
        recent.removeAll(keepingCapacity: true)
        for item in waiting {
            if item.exact, Int(item.pattern) < tables!.exact.count {
                checkExact(item.pattern, start: item.start, text, base: base, final: final, index: index)
            } else if !item.exact, Int(item.pattern) < tables!.secrets.count {
                confirmSecret(item.pattern, start: item.start, text, base: base, final: final, index: index)
            }
        }
    }

    /// The end of the longest match of `secret` starting at `start`, each of its bytes read raw
    /// or through an escape (start itself when none), and whether the search ran out of text
    /// that has not all arrived. Breadth-first over (bytes matched, offset reached), each pair
    /// once, so a run of ambiguous escapes costs its length, not its readings' product; bounded
    /// at 256 readings per byte of the secret.
    mutating func longestMatch(
        _ secret: UnsafeBufferPointer<UInt8>, at start: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int,
        final: Bool
    ) -> (end: Int, incomplete: Bool) {
        var best = start
        var incomplete = false
        var budget = 256 * secret.count + 64
        if matchUnits == nil {
            if scratch == nil { scratch = RedactionScratch(owner: newScratchOwner()) }
            matchUnits = scratch!.matchUnits
        }
        let units = matchUnits!
        // Offsets reached after matching `matched` bytes, for the next five values of `matched`
        // (a reading decodes to four bytes at most, so the current layer is never the target).
        var layers = matchLayers
        matchLayers = []
        defer {
            for slot in layers.indices { layers[slot].removeAll(keepingCapacity: true) }
            matchLayers = layers
        }
        if layers.count < 5 { layers = Array(repeating: [], count: 5) }
        layers[0].append(start)
        let end = base + text.count
        search: for matched in 0..<secret.count {
            let slot = matched % 5
            var item = 0
            defer { layers[slot].removeAll(keepingCapacity: true) }
            while item < layers[slot].count {
                let position = layers[slot][item]
                item += 1
                budget -= 1
                if budget <= 0 { break search }
                if position >= end {
                    if !final { incomplete = true }
                    continue
                }
                guard let unitCount = RedactionScanner.units(at: position, text, base: base, final: final, into: units)
                else {
                    incomplete = true
                    continue
                }
                for unitIndex in 0..<unitCount where matched + units[unitIndex].count <= secret.count {
                    let unit = units[unitIndex]
                    var same = true
                    for offset in 0..<unit.count
                    where UInt8(truncatingIfNeeded: unit.bytes >> UInt32(8 * offset)) != secret[matched + offset] {
                        same = false
                        break
                    }
                    guard same else { continue }
                    if matched + unit.count == secret.count {
                        best = max(best, unit.end)
                    } else {
                        let target = (matched + unit.count) % 5
                        if !layers[target].contains(unit.end) { layers[target].append(unit.end) }
                    }
                }
            }
        }
        return (best, incomplete)
    }

    // MARK: Readings

    /// Every reading that starts at `position`: the raw byte, then the escapes. False when an
    /// escape there may continue past the bytes that have arrived (never when `final`).
    static func units(
        at position: Int, _ text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool,
        into storage: UnsafeMutablePointer<RedactionUnit>
    ) -> Int? {
        var units = UnitList(storage: storage)
        let end = base + text.count
        @inline(__always) func at(_ offset: Int) -> UInt8 { text[offset - base] }
        let byte = at(position)
        units.append(RedactionUnit(end: position + 1, bytes: UInt32(byte), count: 1, raw: true))
        guard isEscapeStart(byte) else { return units.count }
        if !final && position + lookahead > end { return nil }
        readEscapes(at: position, byte, text, base: base, end: end, into: &units)
        return units.count
    }

    /// Units written into fixed storage (at most 16: a byte has nine readings at most).
    struct UnitList {
        let storage: UnsafeMutablePointer<RedactionUnit>
        var count = 0
        mutating func append(_ unit: RedactionUnit) {
            storage[count] = unit
            count += 1
        }
    }

    private static func readEscapes(
        at position: Int, _ byte: UInt8, _ text: UnsafeBufferPointer<UInt8>, base: Int, end: Int,
        into units: inout UnitList
    ) {
        @inline(__always) func at(_ offset: Int) -> UInt8 { text[offset - base] }
        func hexDigit(_ offset: Int) -> UInt32? {
            guard offset < end else { return nil }
            switch at(offset) {
            case 48...57: return UInt32(at(offset) - 48)
            case 65...70: return UInt32(at(offset) - 55)
            case 97...102: return UInt32(at(offset) - 87)
            default: return nil
            }
        }
        func hexByte(_ offset: Int) -> UInt32? {
            guard let high = hexDigit(offset), let low = hexDigit(offset + 1) else { return nil }
            return high << 4 | low
        }
        func hex4(_ offset: Int) -> UInt32? {
            guard let high = hexByte(offset), let low = hexByte(offset + 2) else { return nil }
            return high << 8 | low
        }
        func add(_ scalar: UInt32, end unitEnd: Int) {
            guard let (bytes, count) = utf8(scalar) else { return }
            units.append(RedactionUnit(end: unitEnd, bytes: bytes, count: count, raw: false))
        }
        switch byte {
        case 43:  // + for a space
            units.append(RedactionUnit(end: position + 1, bytes: 32, count: 1, raw: false))
        case 37:  // %XX, and %25XX (encoded twice)
            if let value = hexByte(position + 1) {
                units.append(RedactionUnit(end: position + 3, bytes: value, count: 1, raw: false))
                if value == 0x25, let inner = hexByte(position + 3) {
                    units.append(RedactionUnit(end: position + 5, bytes: inner, count: 1, raw: false))
                }
            }
        // JSON escapes behind any run of backslashes (JSON inside JSON), and a backslash escaped 1, 2 or 3 times
        case 92:
            var cursor = position
            while cursor < end, at(cursor) == 92, cursor - position < longestBackslashRun { cursor += 1 }
            let run = cursor - position
            for length in [2, 4, 8] where length <= run {
                units.append(RedactionUnit(end: position + length, bytes: 92, count: 1, raw: false))
            }
            guard cursor < end, at(cursor) != 92 else { break }
            switch at(cursor) {
            case 117:  // u
                guard let unit = hex4(cursor + 1) else { break }
                if (0xD800...0xDBFF).contains(unit) {
                    var low = cursor + 5
                    while low < end, at(low) == 92, low - (cursor + 5) < longestBackslashRun { low += 1 }
                    if low > cursor + 5, low < end, at(low) == 117, let second = hex4(low + 1),
                        (0xDC00...0xDFFF).contains(second)
                    {
                        add(0x10000 + ((unit - 0xD800) << 10) + (second - 0xDC00), end: low + 5)
                    }
                } else if !(0xDC00...0xDFFF).contains(unit) {
                    add(unit, end: cursor + 5)
                }
            case 110: units.append(RedactionUnit(end: cursor + 1, bytes: 10, count: 1, raw: false))
            case 116: units.append(RedactionUnit(end: cursor + 1, bytes: 9, count: 1, raw: false))
            case 114: units.append(RedactionUnit(end: cursor + 1, bytes: 13, count: 1, raw: false))
            case 98: units.append(RedactionUnit(end: cursor + 1, bytes: 8, count: 1, raw: false))
            case 102: units.append(RedactionUnit(end: cursor + 1, bytes: 12, count: 1, raw: false))
            case 34, 47: units.append(RedactionUnit(end: cursor + 1, bytes: UInt32(at(cursor)), count: 1, raw: false))
            default: break
            }
        case 38:  // &amp; &lt; &#39; &#xE9; ...
            var semicolon = position + 1
            while semicolon < min(end, position + 12), at(semicolon) != 59 { semicolon += 1 }
            guard semicolon < min(end, position + 12) else { break }
            let length = semicolon - position - 1
            guard length >= 2 else { break }
            func name(_ word: StaticString) -> Bool {
                guard word.utf8CodeUnitCount == length else { return false }
                for offset in 0..<length where word.utf8Start[offset] != at(position + 1 + offset) { return false }
                return true
            }
            if at(position + 1) == 35 {  // #
                var value: UInt32 = 0
                var digits = 0
                let hex = at(position + 2) == 120 || at(position + 2) == 88
                var cursor = position + (hex ? 3 : 2)
                while cursor < semicolon {
                    let digit: UInt32?
                    if hex {
                        digit = hexDigit(cursor)
                    } else {
                        digit = (48...57).contains(at(cursor)) ? UInt32(at(cursor) - 48) : nil
                    }
                    guard let digit, value < 0x11_0000 else { return }
                    value = value * (hex ? 16 : 10) + digit
                    digits += 1
                    cursor += 1
                }
                if digits > 0 { add(value, end: semicolon + 1) }
            } else if name("amp") {
                add(38, end: semicolon + 1)
            } else if name("lt") {
                add(60, end: semicolon + 1)
            } else if name("gt") {
                add(62, end: semicolon + 1)
            } else if name("quot") {
                add(34, end: semicolon + 1)
            } else if name("apos") {
                add(39, end: semicolon + 1)
            } else if name("nbsp") {
                add(160, end: semicolon + 1)
            }
        default:
            break
        }
    }

    /// The UTF-8 bytes of a scalar, packed first byte lowest; nil for surrogates and out of range.
    static func utf8(_ scalar: UInt32) -> (UInt32, Int)? {
        switch scalar {
        case 0..<0x80: return (scalar, 1)
        case 0x80..<0x800: return ((0xC0 | scalar >> 6) | (0x80 | scalar & 0x3F) << 8, 2)
        case 0xD800...0xDFFF: return nil
        case 0x800..<0x10000:
            return ((0xE0 | scalar >> 12) | (0x80 | scalar >> 6 & 0x3F) << 8 | (0x80 | scalar & 0x3F) << 16, 3)
        case 0x10000...0x10FFFF:
            return (
                (0xF0 | scalar >> 18) | (0x80 | scalar >> 12 & 0x3F) << 8 | (0x80 | scalar >> 6 & 0x3F) << 16
                    | (0x80 | scalar & 0x3F) << 24, 4
            )
        default: return nil
        }
    }
}
