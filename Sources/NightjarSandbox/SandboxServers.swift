public import Foundation

/// Real servers on loopback for tests and the demo: Dovecot (IMAP), OpenSSH (SFTP) and an SMTP
/// server that keeps every message it is given. Each runs as a normal user — the current one, or
/// `nobody` when the tests run as root (Dovecot refuses root for its login processes) — out of a
/// temporary folder, and stops when asked or when its owner is released.
public enum SandboxServers {
    /// The user servers run as, and the command prefix that makes them so.
    static var runner: (uid: UInt32, gid: UInt32, name: String, prefix: [String]) {
        if geteuid() == 0 {
            return (
                65534, 65534, "nobody", ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            )
        }
        let name = String(cString: getpwuid(geteuid())?.pointee.pw_name ?? strdup("nightjar"))
        return (geteuid(), getegid(), name, [])
    }

    /// A free TCP port on 127.0.0.1 (bound, read, released).
    public static func freePort() throws -> UInt16 {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw SandboxError("cannot create a socket") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw SandboxError("cannot bind a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`.
    static func waitForPort(_ port: UInt16, process: ServerProcess, log: String, seconds: Double = 15) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !process.isRunning {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw SandboxError("the server exited (status \(process.exitStatus ?? -1)): \(text.suffix(2000))")
            }
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(socket)
            if connected == 0 { return }
            usleep(20_000)
        }
        throw SandboxError("nothing listens on 127.0.0.1:\(port) after \(Int(seconds)) s; see \(log)")
    }

    /// Gives a folder tree to the user the servers run as (when that is not us), and lets that
    /// user pass through the folders above it that lie in the temporary directory (0711).
    static func handOver(_ path: String) {
        let user = runner
        guard user.uid != geteuid() else { return }
        let temporary = (NSTemporaryDirectory() as NSString).standardizingPath
        var above = (path as NSString).deletingLastPathComponent
        while above.hasPrefix(temporary + "/") {
            var info = stat()
            if stat(above, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o001 == 0 {
                chmod(above, (info.st_mode & 0o7777) | 0o011)
            }
            above = (above as NSString).deletingLastPathComponent
        }
        if let files = FileManager.default.enumerator(atPath: path)?.allObjects as? [String] {
            for file in files { lchown(path + "/" + file, user.uid, user.gid) }
        }
        lchown(path, user.uid, user.gid)
    }

    static func launch(_ arguments: [String], log: String, environment: [String: String] = [:], asRunner: Bool = true)
        throws -> ServerProcess
    {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        return try ServerProcess(arguments: (asRunner ? runner.prefix : []) + arguments, log: log, environment: env)
    }

    static func stop(_ process: ServerProcess) { process.stop() }

    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode_t(mode))
    }

    /// Whether a program is installed (tests say what to install when it is not).
    public static func installed(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }
}

/// Dovecot serving IMAPS on loopback with the test CA's certificate, Maildir mailboxes under its
/// folder, users with passwords, and OAuth2 (XOAUTH2, OAUTHBEARER) through an introspection URL.
public final class SandboxMailServer: @unchecked Sendable {
    public let folder: String
    public let port: UInt16
    public let certificates: TestCertificates
    let process: ServerProcess

    /// `users`: name → password. `introspection`: where Dovecot checks OAuth2 access tokens.
    public init(folder: String, users: [String: String], introspection: String? = nil) throws {
        guard SandboxServers.installed("/usr/sbin/dovecot") else {
            throw SandboxError("Dovecot is not installed (make setup-test installs dovecot-imapd)")
        }
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder + "/run", withIntermediateDirectories: true)
        chmod(folder, 0o755)
        certificates = try TestCertificates.generate(in: folder + "/tls")
        port = try SandboxServers.freePort()
        let user = SandboxServers.runner
        try SandboxServers.write(
            users.sorted { $0.key < $1.key }.map { "\($0.key):{PLAIN}\($0.value)" }.joined(separator: "\n") + "\n",
            to: folder + "/passwd", mode: 0o600)
        for name in users.keys {
            try FileManager.default.createDirectory(
                atPath: SandboxMailServer.maildir(folder, name) + "/new", withIntermediateDirectories: true)
        }
        var oauth = ""
        if let introspection {
            try SandboxServers.write(
                """
                introspection_url = \(introspection)
                introspection_mode = post
                username_attribute = username
                active_attribute = active
                active_value = true
                """, to: folder + "/oauth2.conf.ext", mode: 0o600)
            oauth = """
                passdb {
                  driver = oauth2
                  mechanisms = xoauth2 oauthbearer
                  args = \(folder)/oauth2.conf.ext
                }
                """
        }
        try SandboxServers.write(
            """
            base_dir = \(folder)/run
            state_dir = \(folder)/run
            log_path = \(folder)/dovecot.log
            info_log_path = \(folder)/dovecot.log
            default_internal_user = \(user.name)
            default_internal_group = \(String(cString: getgrgid(user.gid)?.pointee.gr_name ?? strdup("nogroup")))
            default_login_user = \(user.name)
            protocols = imap
            listen = 127.0.0.1
            ssl = required
            ssl_cert = <\(certificates.serverCertificate)
            ssl_key = <\(certificates.serverKey)
            disable_plaintext_auth = yes
            auth_mechanisms = plain login xoauth2 oauthbearer
            mail_location = maildir:\(folder)/mail/%u/Maildir
            \(oauth)
            passdb {
              driver = passwd-file
              mechanisms = plain login
              args = scheme=PLAIN \(folder)/passwd
            }
            userdb {
              driver = static
              args = uid=\(user.uid) gid=\(user.gid) home=\(folder)/mail/%u
            }
            service imap-login {
              inet_listener imap {
                port = 0
              }
              inet_listener imaps {
                address = 127.0.0.1
                port = \(port)
                ssl = yes
              }
              chroot =
            }
            service anvil {
              chroot =
            }
            """, to: folder + "/dovecot.conf")
        SandboxServers.handOver(folder)
        process = try SandboxServers.launch(
            ["/usr/sbin/dovecot", "-F", "-c", folder + "/dovecot.conf"], log: folder + "/dovecot.out")
        do {
            try SandboxServers.waitForPort(port, process: process, log: folder + "/dovecot.log")
        } catch {
            let output = (try? String(contentsOfFile: folder + "/dovecot.out", encoding: .utf8)) ?? ""
            throw SandboxError("\(error) \(output.suffix(2000))")
        }
    }

    /// `imaps://127.0.0.1:PORT`
    public var origin: String { "imaps://127.0.0.1:\(port)" }

    static func maildir(_ folder: String, _ user: String, _ mailbox: String = "INBOX") -> String {
        folder + "/mail/\(user)/Maildir" + (mailbox == "INBOX" ? "" : "/.\(mailbox)")
    }

    /// Delivers a message into a user's folder, arrived at `arrival`.
    public func deliver(_ bytes: [UInt8], to user: String, mailbox: String = "INBOX", arrival: Date, name: String)
        throws
    {
        let directory = SandboxMailServer.maildir(folder, user, mailbox)
        for sub in ["new", "cur", "tmp"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        let path = directory + "/new/\(Int(arrival.timeIntervalSince1970)).\(name).sandbox"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var times = [
            timespec(tv_sec: Int(arrival.timeIntervalSince1970), tv_nsec: 0),
            timespec(tv_sec: Int(arrival.timeIntervalSince1970), tv_nsec: 0),
        ]
        utimensat(AT_FDCWD, path, &times, 0)
        SandboxServers.handOver(folder + "/mail")
    }

    /// The messages a folder holds now (file names in cur/ and new/), with their flags.
    public func messages(of user: String, mailbox: String = "INBOX") -> [(name: String, flags: String)] {
        let directory = SandboxMailServer.maildir(folder, user, mailbox)
        var result: [(String, String)] = []
        for sub in ["new", "cur"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + sub)) ?? [] {
                let flags = name.components(separatedBy: ":2,").dropFirst().first ?? ""
                result.append((name, flags))
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }

    public func stop() { SandboxServers.stop(process) }

    deinit { stop() }
}

/// OpenSSH's sshd serving SFTP only (internal-sftp, key authentication) on loopback, as whoever
/// starts it (sshd serves only its own user when not root). No `ChrootDirectory`: sshd refuses a
/// chroot below a world-writable folder such as /tmp, so remote paths are the folder's real ones.
public final class SandboxSFTPServer: @unchecked Sendable {
    public let folder: String
    public let port: UInt16
    /// The user a client signs in as.
    public let user: String
    /// The client's private key (OpenSSH format, with `keyPassphrase`) and the pinned host line.
    public let clientKey: String
    public static let keyPassphrase = "sandbox-key-passphrase"
    /// Where remote paths start: the real path of the served folder.
    public let remoteRoot: String
    private var process: ServerProcess
    private let config: String

    public init(folder: String) throws {
        guard SandboxServers.installed("/usr/sbin/sshd") else {
            throw SandboxError("OpenSSH's sshd is not installed (make setup-test installs openssh-server)")
        }
        self.folder = folder
        let root = folder + "/root"
        try FileManager.default.createDirectory(atPath: root + "/outbound", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true)
        chmod(folder, 0o755)
        chmod(root, 0o755)
        for name in ["host_ed25519", "host_other", "client"] {
            try SandboxSFTPServer.keygen(
                folder + "/keys/" + name, passphrase: name == "client" ? SandboxSFTPServer.keyPassphrase : "")
        }
        try FileManager.default.copyItem(atPath: folder + "/keys/client.pub", toPath: folder + "/keys/authorized_keys")
        clientKey = try String(contentsOfFile: folder + "/keys/client", encoding: .utf8)
        port = try SandboxServers.freePort()
        let asRoot = geteuid() == 0
        user = asRoot ? "root" : SandboxServers.runner.name
        remoteRoot = root
        config = folder + "/sshd_config"
        try SandboxSFTPServer.writeConfig(config, folder: folder, port: port, hostKey: "host_ed25519")
        if asRoot { try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
        process = try SandboxSFTPServer.start(config, folder: folder, port: port)
    }

    static func keygen(_ path: String, passphrase: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        process.arguments = ["-q", "-t", "ed25519", "-f", path, "-N", passphrase, "-C", "nightjar-sandbox"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SandboxError("ssh-keygen failed for \(path)") }
    }

    static func writeConfig(_ path: String, folder: String, port: UInt16, hostKey: String) throws {
        try SandboxServers.write(
            """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(folder)/keys/\(hostKey)
            PidFile \(folder)/sshd.pid
            AuthorizedKeysFile \(folder)/keys/authorized_keys
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            UsePAM no
            StrictModes no
            AllowTcpForwarding no
            X11Forwarding no
            Subsystem sftp internal-sftp
            ForceCommand internal-sftp
            LogLevel VERBOSE
            """, to: path, mode: 0o600)
    }

    static func start(_ config: String, folder: String, port: UInt16) throws -> ServerProcess {
        // sshd runs as whoever starts it (it serves only its own user).
        let log = folder + "/sshd.log"
        let process = try SandboxServers.launch(
            ["/usr/sbin/sshd", "-D", "-e", "-f", config], log: log, asRunner: false)
        try SandboxServers.waitForPort(port, process: process, log: log)
        return process
    }

    /// `sftp://127.0.0.1:PORT`
    public var origin: String { "sftp://127.0.0.1:\(port)" }

    /// The pinned `known_hosts` line of the server's current host key, as `ssh-keyscan` prints it.
    public func knownHostsLine(key: String = "host_ed25519") throws -> String {
        let publicKey = try String(contentsOfFile: folder + "/keys/\(key).pub", encoding: .utf8).split(separator: " ")
        return "[127.0.0.1]:\(port) \(publicKey[0]) \(publicKey[1])"
    }

    /// A path on the server, as a client names it (`/outbound/x.csv`).
    public func remote(_ path: String) -> String { remoteRoot + path }

    /// The local file behind a remote path.
    public func local(_ path: String) -> String { folder + "/root" + path }

    /// Restarts the server with another host key (a replaced or impostor server).
    public func changeHostKey() throws {
        SandboxServers.stop(process)
        try SandboxSFTPServer.writeConfig(config, folder: folder, port: port, hostKey: "host_other")
        process = try SandboxSFTPServer.start(config, folder: folder, port: port)
    }

    public func stop() { SandboxServers.stop(process) }

    deinit { stop() }
}

/// A server started in its own process group with a clean signal mask (Foundation's `Process`
/// passes on blocked signals, and servers that close inherited descriptors look exited to it),
/// its output in a log file. Stopping it signals the whole group, so workers a server forked go
/// with it.
public final class ServerProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    init(arguments: [String], log: String, environment: [String: String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw SandboxError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// The exit status once it has ended (reaped here), nil while it runs.
    public var exitStatus: Int32? {
        lock.withLock {
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// TERM to the group, KILL after five seconds, then reaps it.
    public func stop() {
        guard isRunning else { return }
        kill(-pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while isRunning && Date() < deadline { usleep(10_000) }
        if isRunning {
            kill(-pid, SIGKILL)
            while isRunning { usleep(10_000) }
        }
        // Workers that outlived their master.
        kill(-pid, SIGKILL)
    }

    deinit { stop() }
}

/// An SMTP server that keeps every message it is given (aiosmtpd, Debian's python3-aiosmtpd):
/// STARTTLS and AUTH required, each message written to `messages/N.eml` with its envelope in
/// `messages/N.json` (sender, recipients, whether TLS was on).
public final class SandboxSMTPServer: @unchecked Sendable {
    public let folder: String
    public let port: UInt16
    public let certificates: TestCertificates
    public let username = "nightjar-mailer"
    public let password: String
    private let process: ServerProcess

    public static let python = "/usr/bin/python3"

    public init(folder: String, password: String) throws {
        guard SandboxServers.installed(SandboxSMTPServer.python) else { throw SandboxError("python3 is not installed") }
        self.folder = folder
        self.password = password
        try FileManager.default.createDirectory(atPath: folder + "/messages", withIntermediateDirectories: true)
        certificates = try TestCertificates.generate(in: folder + "/tls")
        port = try SandboxServers.freePort()
        try SandboxServers.write(SandboxSMTPServer.script, to: folder + "/sink.py")
        process = try SandboxServers.launch(
            [
                SandboxSMTPServer.python, folder + "/sink.py", folder + "/messages", String(port),
                certificates.serverCertificate,
                certificates.serverKey, username, password,
            ], log: folder + "/sink.log", asRunner: false)
        do {
            try SandboxServers.waitForPort(port, process: process, log: folder + "/sink.log")
        } catch {
            throw SandboxError("\(error) (make setup-test installs python3-aiosmtpd)")
        }
    }

    /// `smtp://127.0.0.1:PORT` (STARTTLS).
    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// A message the server was given: its envelope and bytes.
    public struct Message: Sendable {
        public let from: String
        public let recipients: [String]
        public let tls: Bool
        public let bytes: [UInt8]
    }

    /// Every message so far, in arrival order.
    public func messages() -> [Message] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/messages")) ?? []).filter {
            $0.hasSuffix(".json")
        }.sorted()
        return names.compactMap { name in
            let base = folder + "/messages/" + name.dropLast(5)
            guard let data = FileManager.default.contents(atPath: folder + "/messages/" + name),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let bytes = FileManager.default.contents(atPath: base + ".eml")
            else { return nil }
            return Message(
                from: object["mail_from"] as? String ?? "", recipients: object["rcpt_tos"] as? [String] ?? [],
                tls: object["tls"] as? Bool ?? false,
                bytes: Array(bytes))
        }
    }

    public func stop() { process.stop() }

    deinit { stop() }

    static let script = #"""
        import json, os, signal, ssl, sys
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        folder, port, cert, key, user, password = sys.argv[1:7]
        count = 0

        class Keeper:
            async def handle_DATA(self, server, session, envelope):
                global count
                count += 1
                base = os.path.join(folder, "%04d" % count)
                with open(base + ".eml", "wb") as f:
                    f.write(envelope.original_content or envelope.content)
                with open(base + ".tmp", "w") as f:
                    json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "tls": session.ssl is not None}, f)
                os.rename(base + ".tmp", base + ".json")
                return "250 Message accepted for delivery"

        def authenticate(server, session, envelope, mechanism, auth_data):
            if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password:
                return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        controller = Controller(Keeper(), hostname="127.0.0.1", port=int(port), tls_context=context, require_starttls=True,
                                authenticator=authenticate, auth_required=True, auth_require_tls=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        controller.start()
        print("listening", flush=True)
        signal.sigwait([signal.SIGTERM, signal.SIGINT])
        controller.stop()
        """#
}
