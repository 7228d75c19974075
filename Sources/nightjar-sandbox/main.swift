// nightjar-sandbox: fake supplier portals on loopback, for tests and the demo.
// It serves in the foreground until it is interrupted (Ctrl-C, SIGTERM); `--detach` starts it in
// the background and `--stop` ends the one started so. See `usage` below.
// `--mail DIR` starts Dovecot on loopback with Mailbox Retail's e-mails to acme instead (`make demo-mail`);
// it then serves until standard input closes.
import Foundation
import NightjarSandbox

let usage = """
    usage: nightjar-sandbox [--port-base N] [--write-open-invoices DIR] [--seed N] [--latency-ms N]
                            [--tls DIR] [--json] [--detach] [--stop] [--pid-file FILE]
           nightjar-sandbox --mail DIR

    Serves three fake supplier portals on 127.0.0.1 and prints where each listens and its demo
    accounts, then serves in the foreground until Ctrl-C or SIGTERM.

      --port-base N              fixed ports: sandbox-html-portal on N, sandbox-json-api on N+1, sandbox-totp-portal on N+2
                                 (default: free ports, different on every start)
      --write-open-invoices DIR  write each client's open invoices (CLIENT-open-invoices.csv) and its
                                 store catalogue (CLIENT-suppliers/locations/products.csv) into DIR,
                                 matching what the portals pay
      --seed N                   the seed of the portals' data (default 2026)
      --latency-ms N             answer every request N milliseconds late
      --tls DIR                  serve HTTPS with a test CA written into DIR
      --json                     describe the portals as one JSON line (and, when stopped, the
                                 requests each answered)
      --detach                   start in the background, print the description, return
      --stop                     stop the sandbox started with --detach
      --pid-file FILE            where --detach records the process and --stop finds it
                                 (default: $XDG_RUNTIME_DIR, else $TMPDIR or /tmp, nightjar-sandbox-UID.pid)
      --until-stdin-closes       also stop when standard input closes (for a parent process)
      --mail DIR                 instead of portals: Dovecot on loopback (IMAPS, a test CA in DIR)
                                 with the sandbox retailer's remittance e-mails to acme; prints the
                                 mailbox's address and login as JSON, serves until standard input closes

    """

func print(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("nightjar-sandbox: \(message)\n".utf8))
    exit(status)
}

var seed: UInt64 = 2026
var latency = 0.0
var tlsFolder: String?
var json = false
var invoicesFolder: String?
var portBase: UInt16?
var detach = false
var stop = false
var detachedChild = false
var untilStandardInputCloses = false
var pidFile: String?
var mailFolder: String?
var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func value(_ option: String) -> String {
    guard !arguments.isEmpty else { fail("\(option) needs a value\n\(usage)", status: 64) }
    return arguments.removeFirst()
}
while !arguments.isEmpty {
    let argument = arguments.removeFirst()
    switch argument {
    case "--seed":
        guard let number = UInt64(value(argument)) else { fail("--seed needs a whole number", status: 64) }
        seed = number
    case "--latency-ms":
        guard let number = Double(value(argument)), number >= 0 else {
            fail("--latency-ms needs a number of milliseconds", status: 64)
        }
        latency = number / 1000
    case "--port-base":
        guard let number = UInt16(value(argument)), number > 0, number <= UInt16.max - 2 else {
            fail(
                "--port-base needs a port from 1 to 65533 (sandbox-html-portal uses it, sandbox-json-api the next, sandbox-totp-portal the one after)",
                status: 64)
        }
        portBase = number
    case "--tls": tlsFolder = value(argument)
    case "--json": json = true
    case "--write-open-invoices": invoicesFolder = value(argument)
    case "--mail": mailFolder = value(argument)
    case "--detach": detach = true
    case "--stop": stop = true
    case "--pid-file": pidFile = value(argument)
    case "--until-stdin-closes": untilStandardInputCloses = true
    case "--detached-child": detachedChild = true
    case "--help", "-h":
        FileHandle.standardOutput.write(Data(usage.utf8))
        exit(0)
    default:
        fail("unknown option \(argument)\n\(usage)", status: 64)
    }
}

/// The process-id file of a detached sandbox.
let pidPath: String = {
    if let pidFile { return absolute(pidFile) }
    let environment = ProcessInfo.processInfo.environment
    let folder =
        environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["TMPDIR"].flatMap {
            $0.isEmpty ? nil : $0
        } ?? "/tmp"
    return "\(folder)/nightjar-sandbox-\(getuid()).pid"
}()

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// The process recorded in the pid file, if it is still a running sandbox.
@MainActor func recordedSandbox() -> pid_t? {
    guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
        let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
    else { return nil }
    guard let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
        String(decoding: command, as: UTF8.self).contains("nightjar-sandbox")
    else { return nil }
    return pid
}

if stop {
    guard let pid = recordedSandbox() else {
        try? FileManager.default.removeItem(atPath: pidPath)
        FileHandle.standardError.write(Data("nightjar-sandbox: no sandbox was running (\(pidPath))\n".utf8))
        exit(0)
    }
    kill(pid, SIGTERM)
    for _ in 0..<200 where kill(pid, 0) == 0 { usleep(50_000) }
    guard kill(pid, 0) != 0 else { fail("process \(pid) did not stop within 10 seconds", status: 75) }
    try? FileManager.default.removeItem(atPath: pidPath)
    print("stopped the sandbox (process \(pid))")
    exit(0)
}

if detach {
    // Start this program again in the background, show what it printed on starting, and return.
    if let running = recordedSandbox() {
        fail("a sandbox is already running (process \(running), \(pidPath)); stop it with --stop", status: 75)
    }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    child.arguments =
        CommandLine.arguments.dropFirst().filter { $0 != "--detach" } + ["--detached-child", "--pid-file", pidPath]
    let output = Pipe()
    let errors = Pipe()
    child.standardInput = FileHandle.nullDevice
    child.standardOutput = output
    child.standardError = errors
    do { try child.run() } catch { fail("cannot start in the background: \(error)", status: 71) }
    let described = output.fileHandleForReading.readDataToEndOfFile()
    let complaint = errors.fileHandleForReading.readDataToEndOfFile()
    FileHandle.standardOutput.write(described)
    FileHandle.standardError.write(complaint)
    guard child.isRunning, recordedSandbox() == child.processIdentifier else {
        child.waitUntilExit()
        exit(child.terminationStatus == 0 ? 70 : child.terminationStatus)
    }
    if !json {
        print(
            "Running in the background (process \(child.processIdentifier)); stop it with: nightjar-sandbox --stop"
                + (pidFile == nil ? "" : " --pid-file \(pidFile!)"))
    }
    exit(0)
}

if let mailFolder {
    // A mailbox instead of portals: Dovecot serving IMAPS with its own test CA, the sandbox
    // retailer's remittance e-mails (and the awkward ones) delivered to acme's AR mailbox.
    do {
        let password = "demo-mail-" + String(seed)
        let server = try SandboxMailServer(folder: mailFolder, users: ["ar-acme": password])
        let mail = SandboxMail(data: SandboxData(seed: seed))
        for (index, message) in mail.mailbox(client: "acme", to: "ar@acme.example").enumerated() {
            try server.deliver(message.bytes, to: "ar-acme", arrival: message.arrival, name: "\(index)-\(message.name)")
        }
        let object: [String: Any] = [
            "imap": server.origin, "ca_certificate": server.certificates.caCertificate, "username": "ar-acme",
            "password": password,
        ]
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        _ = FileHandle.standardInput.readDataToEndOfFile()
        server.stop()
    } catch {
        FileHandle.standardError.write(Data("nightjar-sandbox: \(error)\n".utf8))
        exit(70)
    }
    exit(0)
}

do {
    let certificates = try tlsFolder.map { try TestCertificates.generate(in: $0) }
    let portals = try SandboxPortals(data: SandboxData(seed: seed), tls: certificates, portBase: portBase)
    for server in [portals.htmlPortal, portals.jsonAPI, portals.totpPortal] { server.setLatency(seconds: latency) }
    let origins = portals.origins
    var written: [String] = []
    if let invoicesFolder {
        // The clients' open invoices as their ERP would export them, matching what the portals pay;
        // owner-only, as a workspace keeps its files (`nightjar doctor` checks).
        try FileManager.default.createDirectory(
            atPath: invoicesFolder, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        func writePrivate(_ text: String, _ name: String) throws {
            try text.write(toFile: "\(invoicesFolder)/\(name)", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(invoicesFolder)/\(name)")
            written.append(name)
        }
        for client in SandboxData.clients {
            try writePrivate(portals.data.openInvoicesCSV(client: client), "\(client)-open-invoices.csv")
            for (name, text) in portals.data.catalogCSVs(client: client) { try writePrivate(text, name) }
        }
    }
    if json {
        var object: [String: Any] = ["seed": seed, "portals": origins]
        object["accounts"] = portals.data.accounts.map {
            [
                "client": $0.client, "portal": $0.portal, "username": $0.username, "password": $0.password,
                "totp_secret": $0.totpSecret,
                "payer_id": SandboxData.payerID(portal: $0.portal, client: $0.client),
                "payer_name": SandboxData.payerName(portal: $0.portal),
            ]
        }
        if let certificates { object["ca_certificate"] = certificates.caCertificate }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        print("Nightjar sandbox portals (seed \(seed)):")
        let width = SandboxPortals.names.map(\.count).max() ?? 0
        for name in SandboxPortals.names {
            print("  \(name.padding(toLength: width, withPad: " ", startingAt: 0)) \(origins[name] ?? "")")
        }
        print("Demo accounts (sandbox only):")
        for account in portals.data.accounts {
            print(
                "  \(account.client)/\(account.portal)  \(account.username)  \(account.password)  totp \(account.totpSecret)"
            )
        }
        if let invoicesFolder { print("Wrote \(written.joined(separator: ", ")) into \(invoicesFolder)") }
        if !detachedChild { print("Serving until Ctrl-C.") }
    }
    signal(SIGPIPE, SIG_IGN)
    let finished = DispatchSemaphore(value: 0)
    var signalSources: [any DispatchSourceSignal] = []
    for number in [SIGINT, SIGTERM, SIGHUP] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { finished.signal() }
        source.resume()
        signalSources.append(source)
    }
    if detachedChild {
        // In the background: a session of its own, the pid recorded, and nothing left on the
        // pipes the starting process reads to their end.
        _ = setsid()
        try "\(getpid())\n".write(toFile: pidPath, atomically: true, encoding: .utf8)
        let null = open("/dev/null", O_RDWR)
        dup2(null, STDOUT_FILENO)
        dup2(null, STDERR_FILENO)
        close(null)
    }
    if untilStandardInputCloses {
        Thread {
            _ = FileHandle.standardInput.readDataToEndOfFile()
            finished.signal()
        }.start()
    }
    withExtendedLifetime(signalSources) { finished.wait() }
    portals.stop()
    if detachedChild,
        (try? String(contentsOfFile: pidPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            == String(getpid())
    {
        try? FileManager.default.removeItem(atPath: pidPath)
    }
    if json {
        // What each portal answered, for benchmarks that count requests.
        let counts = [
            "sandbox-html-portal": portals.htmlPortal.requestCount, "sandbox-json-api": portals.jsonAPI.requestCount,
            "sandbox-totp-portal": portals.totpPortal.requestCount,
        ]
        let data = try JSONSerialization.data(withJSONObject: ["requests": counts], options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
} catch {
    fail("\(error)", status: 70)
}
