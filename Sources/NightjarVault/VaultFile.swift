import Foundation
import NightjarCore
import NightjarCrypto

/// Where a vault's files live.
public struct VaultPaths: Sendable {
    /// The vault file.
    public let vault: String
    /// The audit log (JSON lines).
    public let audit: String
    /// The rollback state: last generation, chain head and audit head seen, signed.
    public let state: String

    public init(vault: String, audit: String, state: String) {
        self.vault = vault
        self.audit = audit
        self.state = state
    }

    /// The lock file that keeps writers apart.
    var lock: String { vault + ".lock" }
    /// The lock file that keeps writers of the rollback state apart.
    var stateLock: String { state + ".lock" }
}

/// The vault file's bytes (format 2): a header line, then length-prefixed binary sections, then
/// an HMAC-SHA256 over everything before it. See docs/vault-format.md.
enum VaultFile {
    static let magic = Array("nightjar-vault/2\n".utf8)
    static let formatOneMagic = Array("nightjar-vault/1\n".utf8)
    static let macSize = 32
    static let signatureSize = 64
    /// Far above any real vault; refused before anything is allocated for it.
    static let maximumFileBytes = 1 << 30

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Splits and parses the file without any key: structure only. Returns the body and where the MAC starts.
    static func parse(_ bytes: [UInt8]) throws(VaultError) -> VaultBody {
        if bytes.starts(with: formatOneMagic) { throw .formatOutdated(version: 1) }
        guard bytes.starts(with: magic) else {
            throw .damaged("not a Nightjar vault file (the first line is not nightjar-vault/2)")
        }
        guard bytes.count >= magic.count + macSize else { throw .damaged("the file is cut short") }
        let result = bytes.withUnsafeBytes { all in
            Result { () throws(VaultError) in
                try parseContent(UnsafeRawBufferPointer(rebasing: all[magic.count..<(all.count - macSize)]))
            }
        }
        return try result.get()
    }

    private static func parseContent(_ content: UnsafeRawBufferPointer) throws(VaultError) -> VaultBody {
        do {
            var reader = BinaryReader(content, what: "the vault file")
            let headerBytes = try reader.block()
            let header: VaultHeader
            do {
                header = try JSONDecoder().decode(VaultHeader.self, from: Data(headerBytes))
            } catch {
                throw .damaged("the header does not parse")
            }
            guard header.vaultID.count == 16, header.generation >= 1 else {
                throw .damaged("the header has an invalid id or generation")
            }
            let chainCount = try reader.u32()
            guard chainCount <= reader.remaining / (4 + signatureSize) else {
                throw .damaged("the chain's record count is impossible")
            }
            var chain: [ChainEntry] = []
            chain.reserveCapacity(chainCount)
            for _ in 0..<chainCount {
                let payload = try reader.block()
                chain.append(ChainEntry(payload: payload, signature: try reader.raw(signatureSize)))
            }
            let clientCount = try reader.u32()
            guard clientCount <= reader.remaining / 16 else { throw .damaged("the client count is impossible") }
            var clients: [ClientBlock] = []
            clients.reserveCapacity(clientCount)
            for _ in 0..<clientCount {
                let id = try reader.string()
                let keyVersion = try reader.u32()
                let sealedGeneration = try reader.u64()
                let wrapCount = try reader.u16()
                var wraps: [KeyWrap] = []
                wraps.reserveCapacity(wrapCount)
                for _ in 0..<wrapCount {
                    let principal = try reader.string()
                    let ephemeral = try reader.raw(32)
                    wraps.append(
                        KeyWrap(principal: principal, ephemeral: Data(ephemeral), ciphertext: Data(try reader.block())))
                }
                let sealed = try reader.block()
                guard sealed.count >= 12 + 16 else { throw .damaged("client \(id)'s sealed entries are cut short") }
                clients.append(
                    ClientBlock(
                        id: id, keyVersion: keyVersion, sealedGeneration: sealedGeneration, wraps: wraps, sealed: sealed
                    ))
            }
            guard reader.atEnd else {
                throw .damaged("the file has \(reader.remaining) unexpected bytes before its MAC")
            }
            return VaultBody(header: header, chain: chain, clients: clients)
        }
    }

    /// The stored MAC (the last 32 bytes) and the bytes it covers.
    static func macParts(_ bytes: [UInt8]) -> (covered: ArraySlice<UInt8>, mac: [UInt8]) {
        (bytes[0..<(bytes.count - macSize)], Array(bytes[(bytes.count - macSize)...]))
    }

    static func mac(_ covered: ArraySlice<UInt8>, vaultKey: SecretBytes) -> [UInt8] {
        HMAC.authenticate(Array(covered), key: vaultKey, algorithm: .sha256)
    }

    /// Whether the stored MAC matches the file, and the stored MAC: computed over `bytes` where
    /// they are (the MAC is taken off for the computation and put back), not over a copy of a
    /// file of several megabytes.
    static func checkMAC(_ bytes: inout [UInt8], vaultKey: SecretBytes) -> (matches: Bool, mac: [UInt8]) {
        guard bytes.count >= macSize else { return (false, []) }
        let mac = Array(bytes[(bytes.count - macSize)...])
        bytes.removeLast(macSize)
        defer { bytes.append(contentsOf: mac) }
        return (ConstantTime.equals(HMAC.authenticate(bytes, key: vaultKey, algorithm: .sha256), mac), mac)
    }

    /// The file's bytes for `body`, authenticated with `vaultKey`.
    static func serialize(_ body: VaultBody, vaultKey: SecretBytes) throws -> [UInt8] {
        let headerBytes = Array(try encoder().encode(body.header))
        let estimate =
            headerBytes.count + body.chain.reduce(0) { $0 + $1.payload.count + 68 }
            + body.clients.reduce(0) { $0 + $1.sealed.count + $1.wraps.count * 120 + 64 }
        var writer = BinaryWriter(capacity: magic.count + estimate + 64)
        writer.raw(magic)
        writer.block(headerBytes)
        writer.u32(body.chain.count)
        for entry in body.chain {
            writer.block(entry.payload)
            writer.raw(entry.signature)
        }
        writer.u32(body.clients.count)
        for client in body.clients {
            writer.string(client.id)
            writer.u32(client.keyVersion)
            writer.u64(client.sealedGeneration)
            writer.u16(client.wraps.count)
            for wrap in client.wraps {
                writer.string(wrap.principal)
                writer.raw(wrap.ephemeral)
                writer.block(wrap.ciphertext)
            }
            writer.block(client.sealed)
        }
        let tag = mac(writer.bytes[...], vaultKey: vaultKey)
        writer.raw(tag)
        return writer.bytes
    }

    static func read(_ path: String) throws(VaultError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .noVault(path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .noVault(path) }
        guard Int(info.st_size) <= maximumFileBytes else {
            throw .damaged("the file is \(info.st_size) bytes, more than any vault")
        }
        // Read straight into the array's storage (no zero fill, no copy of what was read).
        return [UInt8](unsafeUninitializedCapacity: Int(info.st_size)) { buffer, initialized in
            var total = 0
            while total < buffer.count {
                let count = Foundation.read(descriptor, buffer.baseAddress! + total, buffer.count - total)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                total += count
            }
            initialized = total
        }
    }
}

/// An exclusive lock (flock on a side file), held while reading, changing and writing.
final class VaultLock {
    private let descriptor: Int32

    init(path: String, wait: Bool = true) throws(VaultError) {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .locked("cannot open \(path)") }
        while flock(descriptor, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            close(descriptor)
            throw .locked("another process holds \(path)")
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
