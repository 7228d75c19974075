import Foundation
import NightjarCore
import NightjarCrypto

/// Vault format 1, read only to upgrade it: a JSON body whose roles and approvals only the
/// whole-file MAC protects. Nothing here writes format 1.
enum FormatOne {
    struct Principal: Codable {
        var id: String
        var name: String
        var kind: PrincipalKind
        var roles: [String]
        var exchangePublicKey: Data
        var signingPublicKey: Data
        var sealed: SealedKeys?
        var createdAt: String
        var disabledAt: String?
        var allClients: Bool?
    }

    struct Field: Codable {
        var nonce: Data
        var ciphertext: Data
    }

    struct Entry: Codable {
        var portal: String
        var generation: Int
        var updatedAt: String
        var expires: String?
        var fields: [String: Field]
    }

    struct Client: Codable {
        var id: String
        var keyVersion: Int
        var wraps: [KeyWrap]
        var entries: [Entry]
        var createdAt: String
    }

    struct Mark: Codable {
        var client: String
        var portal: String
        var reason: String
        var markedAt: String
    }

    struct ScraperApproval: Codable {
        var portal: String
        var sha256: String
        var approvedBy: String
        var approvedAt: String
    }

    struct Body: Codable {
        var vaultID: Data
        var generation: Int
        var principals: [Principal]
        var vaultKeyWraps: [KeyWrap]
        var clients: [Client]
        var rotationMarks: [Mark]
        var approvals: [ScraperApproval]
        var writtenAt: String
        var writtenBy: String
    }

    struct State: Codable {
        var vaultID: Data
        var generation: Int
        var auditCount: Int
        var auditHead: String
    }

    static let header = "nightjar-vault/1"

    static func parse(_ bytes: [UInt8]) throws(VaultError) -> (body: Body, bodyBytes: [UInt8], mac: [UInt8]) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count == 4, lines[3].isEmpty, Array(lines[0]) == Array(header.utf8) else {
            throw .damaged("not a format-1 vault file, or cut short")
        }
        let macLine = String(decoding: lines[2], as: UTF8.self)
        let macText = String(macLine.dropFirst(4))
        guard macLine.hasPrefix("mac "), let mac = Data(base64Encoded: macText), mac.count == 32,
            mac.base64EncodedString() == macText
        else {
            throw .damaged("the MAC line is missing or malformed")
        }
        let bodyBytes = Array(lines[1])
        do {
            let body = try JSONDecoder().decode(Body.self, from: Data(bodyBytes))
            guard body.vaultID.count == 16 else { throw VaultError.damaged("the body has an invalid id") }
            return (body, bodyBytes, Array(mac))
        } catch {
            throw .damaged("the format-1 body does not parse")
        }
    }

    static func macMatches(_ bodyBytes: [UInt8], mac: [UInt8], vaultKey: SecretBytes) -> Bool {
        ConstantTime.equals(
            HMAC.authenticate(Array("\(header)\n".utf8) + bodyBytes, key: vaultKey, algorithm: .sha256), mac)
    }

    /// The format-1 rollback state (a JSON line and its HMAC under the vault key), if any.
    static func state(_ bytes: [UInt8], vaultKey: SecretBytes) throws(VaultError) -> State {
        let lines = bytes.split(separator: UInt8(ascii: "\n"))
        guard lines.count == 2, let mac = Data(base64Encoded: Data(lines[1])) else {
            throw .stateInvalid("the format-1 state is malformed")
        }
        guard ConstantTime.equals(HMAC.authenticate(Array(lines[0]), key: vaultKey, algorithm: .sha256), Array(mac))
        else {
            throw .stateInvalid("the format-1 state does not authenticate")
        }
        guard let state = try? JSONDecoder().decode(State.self, from: Data(lines[0])) else {
            throw .stateInvalid("the format-1 state does not parse")
        }
        return state
    }

    /// Additional data of a format-1 sealed field.
    static func fieldAAD(vaultID: Data, client: String, portal: String, field: String, generation: Int) -> [UInt8] {
        var aad = Array("nightjar-vault/1".utf8) + [0] + Array(vaultID)
        for part in [client, portal, field, String(generation)] { aad += [0] + Array(part.utf8) }
        return aad
    }
}
