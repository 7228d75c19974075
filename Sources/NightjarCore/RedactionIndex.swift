#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain values in one heap block with a stable address, grown by doubling: the redaction index
/// reads them through raw pointers while it scans, with no bounds checks or reference counting
/// per byte.
final class FlatStorage<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    init(repeating value: Element, count: Int) {
        capacity = max(1, count)
        base = .allocate(capacity: capacity)
        base.initialize(repeating: value, count: count)
        self.count = count
    }

    deinit { base.deallocate() }

    subscript(index: Int) -> Element {
        get { base[index] }
        set { base[index] = newValue }
    }

    func append(_ value: Element) {
        if count == capacity { grow(to: capacity * 2) }
        base[count] = value
        count += 1
    }

    /// Appends `values` (growing once at most).
    func append(contentsOf values: UnsafeBufferPointer<Element>) {
        if count + values.count > capacity { grow(to: max(capacity * 2, count + values.count)) }
        if let source = values.baseAddress { (base + count).update(from: source, count: values.count) }
        count += values.count
    }

    func append(contentsOf values: [Element]) {
        if count + values.count > capacity { grow(to: max(capacity * 2, count + values.count)) }
        values.withUnsafeBufferPointer { (base + count).update(from: $0.baseAddress!, count: values.count) }
        count += values.count
    }

    /// Overwrites every element with `value` (used to wipe secrets) and forgets them.
    func wipe(with value: Element) {
        base.update(repeating: value, count: count)
        count = 0
    }

    private func grow(to newCapacity: Int) {
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        grown.update(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }
}

/// Open-addressing table from a 6-byte key to the newest pattern with that key; patterns with
/// the same key are chained through a `next` array kept by the caller.
final class KeyTable {
    private(set) var keys: FlatStorage<UInt64>
    private(set) var heads: FlatStorage<Int32>
    private(set) var mask: Int
    private var used = 0

    init() {
        keys = FlatStorage(repeating: 0, count: 1024)
        heads = FlatStorage(repeating: -1, count: 1024)
        mask = 1023
    }

    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// The newest pattern with `key`, or -1.
    @inline(__always)
    func head(_ key: UInt64) -> Int32 {
        let stored = key &+ 1
        var slot = KeyTable.slot(key, mask)
        while true {
            let found = keys.base[slot]
            if found == stored { return heads.base[slot] }
            if found == 0 { return -1 }
            slot = (slot + 1) & mask
        }
    }

    /// Makes `id` the newest pattern with `key`; returns the previous newest (or -1) for the chain.
    func insert(_ key: UInt64, _ id: Int32) -> Int32 {
        if (used + 1) * 2 > mask + 1 { rehash() }
        let stored = key &+ 1
        var slot = KeyTable.slot(key, mask)
        while true {
            let found = keys.base[slot]
            if found == stored {
                let previous = heads.base[slot]
                heads.base[slot] = id
                return previous
            }
            if found == 0 {
                keys.base[slot] = stored
                heads.base[slot] = id
                used += 1
                return -1
            }
            slot = (slot + 1) & mask
        }
    }

    private func rehash() {
        let oldKeys = keys
        let oldHeads = heads
        let oldSize = mask + 1
        let size = oldSize * 2
        keys = FlatStorage(repeating: 0, count: size)
        heads = FlatStorage(repeating: -1, count: size)
        mask = size - 1
        for index in 0..<oldSize where oldKeys.base[index] != 0 {
            var slot = KeyTable.slot(oldKeys.base[index] &- 1, mask)
            while keys.base[slot] != 0 { slot = (slot + 1) & mask }
            keys.base[slot] = oldKeys.base[index]
            heads.base[slot] = oldHeads.base[index]
        }
    }
}

/// Everything the redactor searches for, built up one secret at a time:
///
/// - the secrets themselves, matched through every escape (see `RedactionScanner`), found by
///   their first six bytes once decoded;
/// - their exact forms (base64 at three alignments in both alphabets, hex in both cases),
///   found by their first six bytes as written;
/// - one bit filter over both sets of six-byte keys, which rules out almost every position of
///   a text with one probe.
final class RedactionIndex {
    /// Bytes every pattern is found by: its first `keyLength`.
    static let keyLength = 6
    static let keyMask: UInt64 = 0xFFFF_FFFF_FFFF

    let secretBytes = FlatStorage<UInt8>(capacity: 4096)
    let secretStart = FlatStorage<Int32>()
    let secretLength = FlatStorage<Int32>()
    let secretNext = FlatStorage<Int32>()
    let secretActive = FlatStorage<Bool>()
    let secretTable = KeyTable()

    let exactBytes = FlatStorage<UInt8>(capacity: 4096)
    let exactStart = FlatStorage<Int32>()
    let exactLength = FlatStorage<Int32>()
    let exactNext = FlatStorage<Int32>()
    let exactOwner = FlatStorage<Int32>()
    let exactTable = KeyTable()

    private(set) var filter = FlatStorage<UInt64>(repeating: 0, count: 1024)
    /// A second bit per key, by another hash, read only where `filter` hits: it turns away most of
    /// the false hits before they reach the pattern tables (which are larger and miss the cache).
    /// A quarter of `filter`'s size (about 8 bits per key) is enough for that, and costs
    /// registration little.
    private(set) var filterCheck = FlatStorage<UInt64>(repeating: 0, count: 1024 / 4)
    private(set) var filterShift: UInt64 = 64 - 16
    private var filterKeys = 0
    /// Which 1-, 2-, 3-, 4- and 5-byte strings begin a secret: exact for one and two bytes, a bit
    /// filter (no false "no") for longer ones. A way of reading the text is cut back to its
    /// longest ending that still could begin a secret, so readings that lead nowhere fold away.
    private(set) var prefix1 = FlatStorage<UInt64>(repeating: 0, count: 4)
    private(set) var prefix2 = FlatStorage<UInt64>(repeating: 0, count: 1024)
    private(set) var prefixLong = FlatStorage<UInt64>(repeating: 0, count: 1024)
    private(set) var prefixShift: UInt64 = 64 - 16
    /// Which byte values occur in some secret: an escape that stands for any other byte cannot
    /// be part of a secret read through it.
    private(set) var secretByteSet = FlatStorage<UInt64>(repeating: 0, count: 4)

    /// Every registered secret by a hash of all its bytes, those with the same hash chained
    /// through `secretSameHash` (registration looks values up without making an array of each).
    private let registered = KeyTable()
    private let secretSameHash = FlatStorage<Int32>()
    /// Where `add` writes a secret's forms before they are stored.
    private var formScratch = FlatStorage<UInt8>(repeating: 0, count: 256)
    private var identifiers: Set<[UInt8]> = []
    private(set) var activeCount = 0

    static func key(_ bytes: [UInt8]) -> UInt64 {
        var key: UInt64 = 0
        for index in 0..<keyLength { key = key << 8 | UInt64(bytes[index]) }
        return key
    }

    @inline(__always)
    static func filterBit(_ key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    static func checkBit(_ key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0xC2B2_AE3D_27D4_EB4F) >> shift)
    }

    /// Adds a secret (at least `keyLength` bytes) unless it is already known or is an identifier.
    func add(_ secret: [UInt8]) {
        secret.withUnsafeBufferPointer { add($0) }
    }

    /// Adds a secret (at least `keyLength` bytes) unless it is already known or is an identifier:
    /// its bytes and forms go straight into the flat tables, with no array or string per form.
    func add(_ secret: UnsafeBufferPointer<UInt8>) {
        let hash = RedactionIndex.hash(secret)
        let sameHash = registered.head(hash)
        guard secretID(secret, chain: sameHash) == nil else { return }
        let id = Int32(secretStart.count)
        secretSameHash.append(registered.insert(hash, id))
        let active = identifiers.isEmpty || !identifiers.contains(Array(secret))
        secretStart.append(Int32(secretBytes.count))
        secretLength.append(Int32(secret.count))
        secretBytes.append(contentsOf: secret)
        for byte in secret { secretByteSet[Int(byte >> 6)] |= 1 << UInt64(byte & 63) }
        secretActive.append(active)
        let key = patternKey(secret.baseAddress!)
        secretNext.append(secretTable.insert(key, id))
        addToFilter(key)
        addPrefixes(key)
        let longest = RedactionForms.longestForm(secret.count)
        if formScratch.count < longest { formScratch = FlatStorage(repeating: 0, count: longest) }
        let firstForm = exactStart.count
        RedactionForms.forEachExactForm(of: secret, scratch: formScratch.base) { form in
            guard form.count != secret.count || !form.elementsEqual(secret) else { return }
            for earlier in firstForm..<exactStart.count where Int(exactLength[earlier]) == form.count {
                if memcmp(exactBytes.base + Int(exactStart[earlier]), form.baseAddress!, form.count) == 0 { return }
            }
            let formID = Int32(exactStart.count)
            exactStart.append(Int32(exactBytes.count))
            exactLength.append(Int32(form.count))
            exactBytes.append(contentsOf: form)
            exactOwner.append(id)
            let formKey = patternKey(form.baseAddress!)
            exactNext.append(exactTable.insert(formKey, formID))
            addToFilter(formKey)
        }
        if active { activeCount += 1 }
    }

    /// FNV-1a over all of `bytes`, folded below the key table's reserved value.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash >> 1
    }

    /// The id of a registered secret with exactly these bytes, searched from `chain` on.
    private func secretID(_ secret: UnsafeBufferPointer<UInt8>, chain: Int32) -> Int32? {
        var id = chain
        while id >= 0 {
            if Int(secretLength[Int(id)]) == secret.count
                && memcmp(secretBytes.base + Int(secretStart[Int(id)]), secret.baseAddress!, secret.count) == 0
            {
                return id
            }
            id = secretSameHash[Int(id)]
        }
        return nil
    }

    /// Marks a value as an identifier (a client or portal id): never redacted, even when a secret
    /// with the same bytes was or will be registered.
    func addIdentifier(_ value: [UInt8]) {
        guard identifiers.insert(value).inserted else { return }
        let found = value.withUnsafeBufferPointer { secretID($0, chain: registered.head(RedactionIndex.hash($0))) }
        if let id = found, secretActive[Int(id)] {
            secretActive[Int(id)] = false
            activeCount -= 1
        }
    }

    private func addToFilter(_ key: UInt64) {
        filterKeys += 1
        // About 32 bits per key keeps false hits near 3 %; past 2^24 bits (2 MiB) the filter stops growing.
        if filterKeys * 32 > filter.count * 64 && filter.count < (1 << 18) {
            rebuildFilter(words: filter.count * 2)
        } else {
            setBit(key)
        }
    }

    @inline(__always)
    static func prefixBit(_ prefix: UInt64, length: Int, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: ((prefix | UInt64(length) << 56) &* 0xD6E8_FEB8_6659_FD93) >> shift)
    }

    /// Whether the last `length` bytes of `key` (1 to 5) may begin a secret.
    @inline(__always)
    func mayBegin(_ key: UInt64, length: Int) -> Bool {
        switch length {
        case 1:
            let byte = Int(key & 0xFF)
            return prefix1.base[byte >> 6] >> UInt64(byte & 63) & 1 != 0
        case 2:
            let pair = Int(key & 0xFFFF)
            return prefix2.base[pair >> 6] >> UInt64(pair & 63) & 1 != 0
        default:
            let prefix = key & ((1 << UInt64(8 * length)) - 1)
            let bit = RedactionIndex.prefixBit(prefix, length: length, shift: prefixShift)
            return prefixLong.base[bit >> 6] >> UInt64(bit & 63) & 1 != 0
        }
    }

    private func addPrefixes(_ key: UInt64) {
        let first = Int(key >> 40)
        prefix1[first >> 6] |= 1 << UInt64(first & 63)
        let pair = Int(key >> 32)
        prefix2[pair >> 6] |= 1 << UInt64(pair & 63)
        for length in 3...5 {
            let bit = RedactionIndex.prefixBit(key >> UInt64(8 * (6 - length)), length: length, shift: prefixShift)
            prefixLong[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }

    /// Sets every bit of both filters, so that every key is looked up in the pattern tables:
    /// what the scan finds then is what the filters must never hide (a check of them).
    func saturateFilters() {
        filter.base.update(repeating: ~0, count: filter.count)
        filterCheck.base.update(repeating: ~0, count: filterCheck.count)
    }

    private func setBit(_ key: UInt64) {
        let bit = RedactionIndex.filterBit(key, shift: filterShift)
        filter[bit >> 6] |= 1 << UInt64(bit & 63)
        let check = RedactionIndex.checkBit(key, shift: filterShift + 2)
        filterCheck[check >> 6] |= 1 << UInt64(check & 63)
    }

    private func rebuildFilter(words: Int) {
        filter = FlatStorage(repeating: 0, count: words)
        filterCheck = FlatStorage(repeating: 0, count: words / 4)
        filterShift = UInt64(64 - (words * 64).trailingZeroBitCount)
        // Three prefixes per secret, about 16 bits each: a small table that stays in cache.
        let prefixWords = max(1024, words / 8)
        prefixLong = FlatStorage(repeating: 0, count: prefixWords)
        prefixShift = UInt64(64 - (prefixWords * 64).trailingZeroBitCount)
        for id in 0..<secretStart.count {
            let key = patternKey(secretBytes.base + Int(secretStart[id]))
            setBit(key)
            addPrefixes(key)
        }
        for id in 0..<exactStart.count {
            setBit(patternKey(exactBytes.base + Int(exactStart[id])))
        }
    }

    func patternKey(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        var key: UInt64 = 0
        for index in 0..<RedactionIndex.keyLength { key = key << 8 | UInt64(pointer[index]) }
        return key
    }

    /// Forgets everything, wiping the stored secrets.
    func wipe() {
        secretBytes.wipe(with: 0)
        exactBytes.wipe(with: 0)
        formScratch.wipe(with: 0)
    }
}
