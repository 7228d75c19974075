import Foundation
import NightjarCore
import NightjarSite
import NightjarVault
import Synchronization

/// `nightjar serve`: the review site for finance staff.
enum ServeCommand {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["serve"], effect: .changesOther,
                summary: "serve the review site: sign-in, this morning, worklist, batches, approval, exports",
                discussion: """
                    Serves the workspace's review in a browser, for the people who review, approve and export each
                    morning. They sign in with their operator name and passphrase; every action is the one the
                    CLI takes (batch approve, reverse, reassign, accept-suggestion, export), recorded with who and
                    when, and the site and the CLI see each other's decisions at once.

                    The site signs its own audit records (failed sign-ins, sign-outs) with a key of its own, an
                    automation key that holds no client's key:
                      nightjar vault automation-key create /etc/nightjar/site.key --no-clients --name site --as alice
                    It is read from --key-file, $NIGHTJAR_SITE_KEY_FILE or the systemd credential nightjar-site-key.

                    Plain HTTP on 127.0.0.1 by default; give --tls-cert and --tls-key to serve HTTPS yourself, or
                    put it behind a reverse proxy (docs/operating.md) and pass --trusted-proxy and --public-url.
                    Stop with Ctrl-C (or SIGTERM): sessions live in the server and end with it.

                    Example:
                      nightjar serve --listen 127.0.0.1:8080 --key-file /etc/nightjar/site.key
                    """,
                options: [
                    .value(
                        "listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080; port 0 picks a free one)"),
                    .value("tls-cert", "FILE", "serve HTTPS with this certificate chain (PEM)"),
                    .value("tls-key", "FILE", "the certificate's private key (PEM)"),
                    .value("key-file", "FILE", "the site's automation key (mode 0600)"),
                    .value(
                        "trusted-proxy", "ADDRESS", repeatable: true,
                        "a reverse proxy whose X-Forwarded-For is believed"),
                    .value(
                        "public-url", "URL", "the address people use (https:// marks cookies Secure behind a proxy)"),
                    .value(
                        "sign-in-delays", "SECONDS",
                        "delays after 1, 2, 3... failed sign-ins (default 0,0,0,1,2,4,8,15,30,60)"),
                    .value("max-connections", "N", "connections served at once (default 512)"),
                ],
                run: run)
        ]
    }

    /// Where the site's key is: the option, `NIGHTJAR_SITE_KEY_FILE`, or the systemd credential `nightjar-site-key`.
    static func siteKeyPath(_ invocation: Invocation) -> String? {
        if let explicit = invocation.value("key-file"), !explicit.isEmpty { return Workspace.absolute(explicit) }
        if let path = invocation.environment["NIGHTJAR_SITE_KEY_FILE"], !path.isEmpty { return path }
        if let directory = invocation.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty,
            FileManager.default.fileExists(atPath: directory + "/nightjar-site-key")
        {
            return directory + "/nightjar-site-key"
        }
        return nil
    }

    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        let listen = try ListenAddress.parse(invocation.value("listen") ?? "127.0.0.1:8080")
        var tls: TLSFiles?
        switch (invocation.value("tls-cert"), invocation.value("tls-key")) {
        case (let certificate?, let key?):
            tls = TLSFiles(certificate: Workspace.absolute(certificate), key: Workspace.absolute(key))
        case (nil, nil): tls = nil
        default: throw UsageError("give both --tls-cert and --tls-key, or neither", command: "serve")
        }
        guard let keyPath = siteKeyPath(invocation) else {
            throw UsageError(
                "the site needs its own key to sign its audit records: --key-file FILE (create one with "
                    + "`nightjar vault automation-key create FILE --no-clients --name site --as ADMIN`)",
                command: "serve")
        }
        let vault = try SiteVault(paths: VaultCommands.paths(workspace), siteKey: try AutomationKey.load(path: keyPath))
        var configuration = SiteConfiguration(
            title: config.name, workspaceRoot: workspace.root, openDatabase: WorkspaceDatabase.opener(workspace),
            vault: vault)
        configuration.matchingRules = ReviewCommands.rules(workspace)
        configuration.timeZone = TimeZone(identifier: config.timeZone) ?? .gmt
        if let delays = invocation.value("sign-in-delays") {
            configuration.throttle = try ThrottleSchedule.parse(delays)
        }
        configuration.trustedProxies = invocation.values("trusted-proxy")
        let publicURL = invocation.value("public-url")
        if let publicURL, !(publicURL.hasPrefix("https://") || publicURL.hasPrefix("http://")) {
            throw UsageError("--public-url takes an http:// or https:// address", command: "serve")
        }
        configuration.secureCookies = tls != nil || (publicURL?.hasPrefix("https://") ?? false)
        var limits = RequestLimits()
        if let text = invocation.value("max-connections") {
            guard let count = Int(text), count > 0, count <= 100_000 else {
                throw UsageError("--max-connections takes a positive number", command: "serve")
            }
            limits.maximumConnections = count
        }
        // Behind a proxy every request comes from its address.
        if !configuration.trustedProxies.isEmpty { limits.connectionsPerAddress = 0 }
        let site = ReviewSite(configuration: configuration)
        let server = try HTTPServer(listen: listen, tls: tls, limits: limits, handler: { site.handle($0) })
        let bound = ListenAddress(host: listen.host, port: server.port)
        Output.line(
            "Serving the review site of \(workspace.root) at \(tls == nil ? "http" : "https")://\(bound)/"
                + (publicURL.map { " (people use \($0))" } ?? "") + "; stop with Ctrl-C")
        Logger(label: "site").notice("serving at \(bound)\(tls == nil ? "" : " with TLS")")
        await waitForStop(sweeping: site)
        server.stop()
        Logger(label: "site").notice("stopped")
        return .ok
    }

    /// Returns at SIGINT or SIGTERM; meanwhile ends timed-out sessions every minute.
    static func waitForStop(sweeping site: ReviewSite) async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "serve.signals")
        let sweeper = DispatchSource.makeTimerSource(queue: queue)
        sweeper.schedule(deadline: .now() + 60, repeating: 60)
        sweeper.setEventHandler { site.sweepSessions() }
        sweeper.resume()
        let stopped = Mutex(false)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
            for source in sources {
                source.setEventHandler {
                    let first = stopped.withLock { done -> Bool in
                        defer { done = true }
                        return !done
                    }
                    if first {
                        for source in sources { source.cancel() }
                        continuation.resume()
                    }
                }
                source.resume()
            }
        }
        sweeper.cancel()
    }
}
