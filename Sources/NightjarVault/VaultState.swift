import Foundation
import NightjarCore
import NightjarCrypto

/// The rollback state (`data/vault-state`): what this workspace has seen of the vault, so an
/// older vault file, a shortened chain or a cut audit log is refused.
///
/// Two parts. The floor is signed by a principal with authority in the chain (an admin, or an
/// automation key at night); no other principal can move it, and a missing or unreadable state
/// is a refusal, never a reset. The progress is authenticated with the vault key, which every
/// principal holds: it records what operators did since the last floor, against anyone who
/// holds no key at all.
struct VaultState: Sendable, Equatable {
    struct Floor: Codable, Sendable, Equatable {
        var vaultID: Data
        var generation: Int
        var chainCount: Int
        var chainHead: String
        var auditCount: Int
        var auditHead: String
        /// The principal id whose key signed this floor.
        var signer: String
        var at: String
    }

    struct Progress: Codable, Sendable, Equatable {
        var vaultID: Data
        var generation: Int
        var auditCount: Int
        var auditHead: String
    }

    var floor: Floor
    var floorPayload: [UInt8]
    var floorSignature: [UInt8]
    var progress: Progress?

    static let header = "nightjar-vault-state/2"
    static let formatOneHeaderByte = UInt8(ascii: "{")
    static let signatureLabel = Array("nightjar-vault/2 rollback floor\n".utf8)

    /// The highest generation either part has seen.
    var generation: Int { max(floor.generation, progress?.generation ?? 0) }

    /// The audit log length and head either part has seen (the longer one).
    var audit: (count: Int, head: String) {
        if let progress, progress.auditCount > floor.auditCount { return (progress.auditCount, progress.auditHead) }
        return (floor.auditCount, floor.auditHead)
    }

    // MARK: Reading

    /// The file's bytes, or nil when it does not exist.
    static func readBytes(_ path: String) throws(VaultError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .stateInvalid("\(path) cannot be read")
        }
        guard data.count <= 64 * 1024 else {
            throw .stateInvalid("\(path) is \(data.count) bytes, far more than a state file")
        }
        return Array(data)
    }

    /// Parses the state without checking it (the chain must be verified first).
    static func parse(_ bytes: [UInt8], path: String) throws(VaultError) -> VaultState {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if bytes.first == formatOneHeaderByte {
            throw .stateInvalid("\(path) was written by vault format 1 and this vault is format 2")
        }
        guard lines.count == 6, lines[5].isEmpty, String(decoding: lines[0], as: UTF8.self) == header else {
            throw .stateInvalid("\(path) is not a format-2 rollback state (damaged or cut short)")
        }
        let decoder = JSONDecoder()
        guard let floor = try? decoder.decode(Floor.self, from: Data(lines[1])),
            let signature = canonicalBase64(lines[2]), signature.count == 64
        else {
            throw .stateInvalid("the signed part of \(path) does not parse")
        }
        var progress: Progress?
        if lines[3] != Array("-".utf8) {
            guard let decoded = try? decoder.decode(Progress.self, from: Data(lines[3])),
                let mac = canonicalBase64(lines[4]), mac.count == 32
            else {
                throw .stateInvalid("the second part of \(path) does not parse")
            }
            progress = decoded
            _ = mac
        }
        return VaultState(floor: floor, floorPayload: lines[1], floorSignature: signature, progress: progress)
    }

    private static func canonicalBase64(_ line: [UInt8]) -> [UInt8]? {
        let text = String(decoding: line, as: UTF8.self)
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }

    /// The progress MAC as stored (checked against the vault key by `check`).
    static func progressMAC(_ bytes: [UInt8]) -> (payload: [UInt8], mac: [UInt8])? {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        guard lines.count == 6, lines[3] != Array("-".utf8), let mac = canonicalBase64(lines[4]) else { return nil }
        return (lines[3], mac)
    }

    /// Checks the floor's signature (by a principal who, at the floor's point in the chain, was
    /// an admin or an automation key) and the progress's MAC; then that the vault file is not
    /// older than either, and that the chain extends the one the floor saw.
    static func check(
        _ bytes: [UInt8], path: String, authority: AuthorityState, signersAtFloor: [String: PrincipalInfo],
        vaultKey: SecretBytes, generation: Int
    ) throws(VaultError) -> VaultState {
        let state = try parse(bytes, path: path)
        let floor = state.floor
        guard floor.vaultID == authority.vaultID else { throw .stateInvalid("\(path) belongs to another vault") }
        guard let signer = signersAtFloor[floor.signer], signer.isAdmin || signer.kind == .automation,
            let key = try? Ed25519.VerifyingKey(rawRepresentation: Array(signer.signingKey)),
            key.isValidSignature(state.floorSignature, for: signatureLabel + state.floorPayload)
        else {
            throw .stateInvalid(
                "\(path) is not signed by an admin or an automation key of this vault (it was edited or forged)")
        }
        if state.progress != nil {
            guard let (payload, mac) = progressMAC(bytes),
                ConstantTime.equals(HMAC.authenticate(payload, key: vaultKey, algorithm: .sha256), mac)
            else {
                throw .stateInvalid("the second part of \(path) does not authenticate (it was edited or is damaged)")
            }
            guard state.progress!.vaultID == authority.vaultID else {
                throw .stateInvalid("\(path) belongs to another vault")
            }
        }
        if generation < state.generation { throw .rollback(found: generation, expected: state.generation) }
        if authority.count < floor.chainCount { throw .chainCut(found: authority.count, expected: floor.chainCount) }
        if floor.chainCount > 0, authority.hashes[floor.chainCount - 1] != floor.chainHead {
            throw .chainRewritten(floor.chainCount)
        }
        return state
    }

    // MARK: Writing

    /// What a writer knows now.
    struct Observation {
        var vaultID: Data
        var generation: Int
        var chainCount: Int
        var chainHead: String
        var audit: (count: Int, head: String)?
    }

    /// Moves the state forward under its own lock. With `signer`, the floor is re-signed;
    /// without, only the progress moves. Values already recorded are never lowered unless
    /// `replacing` (an admin accepting an older vault, or a new vault).
    static func advance(
        paths: VaultPaths, observation: Observation, signer: (id: String, key: Ed25519.SigningKey)?,
        vaultKey: SecretBytes, authority: AuthorityState, replacing: Bool = false
    ) throws(VaultError) {
        let lock = try VaultLock(path: paths.stateLock)
        defer { withExtendedLifetime(lock) {} }
        var existing: VaultState?
        var existingProgressValid = false
        if !replacing, let bytes = try? readBytes(paths.state) {
            // Only a state that verifies is merged; anything else is replaced by what we know.
            let signers = authority.principals
            if let state = try? parse(bytes, path: paths.state), state.floor.vaultID == observation.vaultID,
                let principal = signers[state.floor.signer], principal.isAdmin || principal.kind == .automation,
                let key = try? Ed25519.VerifyingKey(rawRepresentation: Array(principal.signingKey)),
                key.isValidSignature(state.floorSignature, for: signatureLabel + state.floorPayload)
            {
                existing = state
                if let (payload, mac) = progressMAC(bytes),
                    ConstantTime.equals(HMAC.authenticate(payload, key: vaultKey, algorithm: .sha256), mac)
                {
                    existingProgressValid = true
                }
            }
        }
        guard existing != nil || signer != nil else {
            // Nobody who may sign a floor, and no floor to keep: the refusal at open stands.
            throw .stateMissing(paths.state)
        }
        let now = Logger.timestamp()
        var audit = observation.audit ?? existing?.audit ?? (0, AuditLog.genesis(vaultID: observation.vaultID))
        if let known = existing?.audit, known.count > audit.count { audit = known }
        if existingProgressValid, let progress = existing?.progress, progress.auditCount > audit.count {
            audit = (progress.auditCount, progress.auditHead)
        }
        let generation = max(observation.generation, existing?.generation ?? 0)

        var floorPayload: [UInt8]
        var floorSignature: [UInt8]
        if let signer {
            var chain = (observation.chainCount, observation.chainHead)
            if let floor = existing?.floor, floor.chainCount > chain.0 { chain = (floor.chainCount, floor.chainHead) }
            let floor = Floor(
                vaultID: observation.vaultID, generation: generation, chainCount: chain.0, chainHead: chain.1,
                auditCount: audit.count, auditHead: audit.head, signer: signer.id, at: now)
            do { floorPayload = Array(try VaultFile.encoder().encode(floor)) } catch {
                throw .stateInvalid("cannot encode the state")
            }
            floorSignature = signer.key.sign(signatureLabel + floorPayload)
        } else {
            floorPayload = existing!.floorPayload
            floorSignature = existing!.floorSignature
        }
        let progress = Progress(
            vaultID: observation.vaultID, generation: generation, auditCount: audit.count, auditHead: audit.head)
        let progressPayload: [UInt8]
        do { progressPayload = Array(try VaultFile.encoder().encode(progress)) } catch {
            throw .stateInvalid("cannot encode the state")
        }
        let mac = HMAC.authenticate(progressPayload, key: vaultKey, algorithm: .sha256)
        var text =
            Array("\(header)\n".utf8) + floorPayload + [10] + Array(Data(floorSignature).base64EncodedString().utf8) + [
                10
            ]
        text += progressPayload + [10] + Array(Data(mac).base64EncodedString().utf8) + [10]
        do {
            try SecureFile.writeAtomically(text, to: paths.state, mode: 0o600)
        } catch {
            throw .auditWriteFailed(
                "the rollback state \(paths.state) could not be written: \((error as? any NightjarError)?.message ?? "\(error)")"
            )
        }
    }
}
