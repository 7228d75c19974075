import Foundation
public import NightjarCore
public import NightjarHTTP
public import NightjarScript

/// OAuth 2.0 for mailboxes: the refresh token kept in the vault is exchanged, at the token
/// endpoint the credential names (`token_url`), for a short-lived access token that signs in
/// over XOAUTH2 or OAUTHBEARER. The endpoint must be https and allowed by the credential's
/// origins; the access token is registered with the redactor the moment it arrives.
public enum OAuth2 {
    /// An access token and how long it lasts.
    public struct AccessToken: Sendable {
        public let token: String
        public let expiresIn: Int?
        /// The endpoint sent a new refresh token (some providers rotate them).
        public let rotatedRefreshToken: Bool
    }

    /// Exchanges the credential's refresh token. Failures are classed like a portal's login:
    /// a refused token is `auth_failed` (never retried tonight), an endpoint that is down is
    /// `portal_unavailable`.
    public static func refresh(_ credential: ScriptCredential, definition: ScraperDefinition, tls: TLSSettings)
        async throws -> AccessToken
    {
        let url = try credential.requiredField("token_url", for: definition)
        let location = definition.sourceSettings.signInLocation
        guard url.lowercased().hasPrefix("https://") else {
            throw ScraperFailure(
                .originRefused, "the token endpoint \(url) is not https; a refresh token is only ever sent over TLS",
                location: location)
        }
        let origin = SourceOrigin.canonical(url)
        guard credential.allows(origin: origin) else {
            throw ScraperFailure(
                .originRefused,
                "refused to send the refresh token to \(origin): the credential \(credential.name) does not allow that origin (add it with --origin)",
                location: location)
        }
        var fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", try credential.requiredField("refresh_token", for: definition)),
            ("client_id", try credential.requiredField("client_id", for: definition)),
        ]
        if let secret = credential.fields["client_secret"], !secret.isEmpty { fields.append(("client_secret", secret)) }
        if let scope = credential.fields["scope"], !scope.isEmpty { fields.append(("scope", scope)) }
        var retry = RetryPolicy()
        retry.maximumAttempts = 2
        var limits = TransferLimits()
        limits.totalTimeout = .seconds(30)
        limits.maximumResponseBytes = 256 * 1024
        let session = HTTPSession(limits: limits, tls: tls, retry: retry)
        let response: HTTPResponse
        do {
            response = try await session.send(
                HTTPRequest(
                    .post, url, headers: [("Accept", "application/json")], body: .form(fields), retryable: false),
                followRedirects: false)
        } catch let error as HTTPError {
            throw ScraperFailure(
                .portalUnavailable,
                "the token endpoint \(HTTPSession.origin(of: url)) could not be reached: \(error.message)",
                location: location)
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        if let token = object?["access_token"] as? String, !token.isEmpty, (200..<300).contains(response.status) {
            Redactor.shared.register(text: token)
            var rotated = false
            if let fresh = object?["refresh_token"] as? String, !fresh.isEmpty {
                Redactor.shared.register(text: fresh)
                rotated = fresh != credential.fields["refresh_token"]
            }
            let expires = (object?["expires_in"] as? Int) ?? (object?["expires_in"] as? String).flatMap(Int.init)
            return AccessToken(token: token, expiresIn: expires, rotatedRefreshToken: rotated)
        }
        let code = object?["error"] as? String
        let description =
            (object?["error_description"] as? String).map { " (\(Redactor.shared.redact(String($0.prefix(200)))))" }
            ?? ""
        switch (response.status, code) {
        case (_, "invalid_grant"?):
            throw ScraperFailure(
                .authFailed,
                "the token endpoint refused the refresh token (invalid_grant\(description)): it was revoked or has expired; sign in to the mailbox again and store the new refresh token (nightjar vault edit \(credential.name) --field refresh_token)",
                location: location)
        case (_, "invalid_client"?), (_, "unauthorized_client"?), (401, _), (403, _):
            throw ScraperFailure(
                .authFailed,
                "the token endpoint refused the client (\(code ?? "HTTP \(response.status)")\(description)): check client_id and client_secret",
                location: location)
        case (429, _):
            throw ScraperFailure(.rateLimited, "the token endpoint answered 429 Too Many Requests", location: location)
        case (500..., _):
            throw ScraperFailure(
                .portalUnavailable, "the token endpoint answered HTTP \(response.status)", location: location)
        default:
            throw ScraperFailure(
                .authFailed,
                "the token endpoint gave no access token (HTTP \(response.status)\(code.map { ", \($0)" } ?? "")\(description))",
                location: location)
        }
    }
}
