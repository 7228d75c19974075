public import Foundation

/// Real servers on loopback for tests and the demo: Dovecot (IMAP), OpenSSH (SFTP) and an SMTP
/// server that keeps every message it is given. Each runs as a normal user — the current one, or
/// `nobody` when the tests run as root (Dovecot refuses root for its login processes) — out of a
/// temporary folder, and stops when asked or when its owner is released.
public enum SandboxServers {
    /// The user servers run as, and the command prefix that makes them so.
    static var runner: (uid: UInt32, gid: UInt32, name: String, prefix: [String]) {
        if geteuid() == 0 {
            return (65534, 65534, "nobody", ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"])
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SandboxError("cannot bind a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`.
    static func waitForPort(_ port: UInt16, process: Process, log: String, seconds: Double = 15) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !process.isRunning {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw SandboxError("the server exited (status \(process.terminationStatus)): \(text.suffix(2000))")
            }
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
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
            if stat(above, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o001 == 0 { chmod(above, (info.st_mode & 0o7777) | 0o011) }
            above = (above as NSString).deletingLastPathComponent
        }
        if let files = FileManager.default.enumerator(atPath: path)?.allObjects as? [String] {
            for file in files { lchown(path + "/" + file, user.uid, user.gid) }
        }
        lchown(path, user.uid, user.gid)
    }

    static func launch(_ arguments: [String], log: String, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        let command = runner.prefix + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        try process.run()
        return process
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

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
    let process: Process

    /// `users`: name → password. `introspection`: where Dovecot checks OAuth2 access tokens.
    public init(folder: String, users: [String: String], introspection: String? = nil) throws {
        guard SandboxServers.installed("/usr/sbin/dovecot") else { throw SandboxError("Dovecot is not installed (make setup-test installs dovecot-imapd)") }
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder + "/run", withIntermediateDirectories: true)
        chmod(folder, 0o755)
        certificates = try TestCertificates.generate(in: folder + "/tls")
        port = try SandboxServers.freePort()
        let user = SandboxServers.runner
        try SandboxServers.write(users.sorted { $0.key < $1.key }.map { "\($0.key):{PLAIN}\($0.value)" }.joined(separator: "\n") + "\n",
                                 to: folder + "/passwd", mode: 0o600)
        for name in users.keys { try FileManager.default.createDirectory(atPath: SandboxMailServer.maildir(folder, name) + "/new", withIntermediateDirectories: true) }
        var oauth = ""
        if let introspection {
            try SandboxServers.write("""
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
        try SandboxServers.write("""
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
        process = try SandboxServers.launch(["/usr/sbin/dovecot", "-F", "-c", folder + "/dovecot.conf"], log: folder + "/dovecot.out")
        try SandboxServers.waitForPort(port, process: process, log: folder + "/dovecot.log")
    }

    /// `imaps://127.0.0.1:PORT`
    public var origin: String { "imaps://127.0.0.1:\(port)" }

    static func maildir(_ folder: String, _ user: String, _ mailbox: String = "INBOX") -> String {
        folder + "/mail/\(user)/Maildir" + (mailbox == "INBOX" ? "" : "/.\(mailbox)")
    }

    /// Delivers a message into a user's folder, arrived at `arrival`.
    public func deliver(_ bytes: [UInt8], to user: String, mailbox: String = "INBOX", arrival: Date, name: String) throws {
        let directory = SandboxMailServer.maildir(folder, user, mailbox)
        for sub in ["new", "cur", "tmp"] { try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true) }
        let path = directory + "/new/\(Int(arrival.timeIntervalSince1970)).\(name).sandbox"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var times = [timespec(tv_sec: Int(arrival.timeIntervalSince1970), tv_nsec: 0), timespec(tv_sec: Int(arrival.timeIntervalSince1970), tv_nsec: 0)]
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
