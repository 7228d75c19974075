// nightjar-sandbox: fake supplier portals on loopback, for tests and the demo.
// Usage: nightjar-sandbox [--seed N] [--latency-ms N] [--tls DIR] [--json]
// Prints where each portal listens and the demo accounts, then serves until standard input closes
// (with --json it then prints the requests each portal answered).
import Foundation
import NightjarSandbox

func print(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

var seed: UInt64 = 2026
var latency = 0.0
var tlsFolder: String?
var json = false
var invoicesFolder: String?
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let argument = arguments.removeFirst()
    switch argument {
    case "--seed": seed = UInt64(arguments.isEmpty ? "" : arguments.removeFirst()) ?? seed
    case "--latency-ms": latency = (Double(arguments.isEmpty ? "" : arguments.removeFirst()) ?? 0) / 1000
    case "--tls": tlsFolder = arguments.isEmpty ? nil : arguments.removeFirst()
    case "--json": json = true
    case "--write-open-invoices": invoicesFolder = arguments.isEmpty ? nil : arguments.removeFirst()
    default:
        FileHandle.standardError.write(Data("usage: nightjar-sandbox [--seed N] [--latency-ms N] [--tls DIR] [--json] [--write-open-invoices DIR]\n".utf8))
        exit(64)
    }
}
do {
    let certificates = try tlsFolder.map { try TestCertificates.generate(in: $0) }
    let portals = try SandboxPortals(data: SandboxData(seed: seed), tls: certificates)
    for server in [portals.northwind, portals.tailspin, portals.contoso] { server.setLatency(seconds: latency) }
    let origins = portals.origins
    if let invoicesFolder {
        // The clients' open invoices as their ERP would export them, matching what the portals pay.
        try FileManager.default.createDirectory(atPath: invoicesFolder, withIntermediateDirectories: true)
        for client in SandboxData.clients {
            try portals.data.openInvoicesCSV(client: client).write(toFile: "\(invoicesFolder)/\(client)-open-invoices.csv", atomically: true, encoding: .utf8)
            for (name, text) in portals.data.catalogCSVs(client: client) {
                try text.write(toFile: "\(invoicesFolder)/\(name)", atomically: true, encoding: .utf8)
            }
        }
    }
    if json {
        var object: [String: Any] = ["seed": seed, "portals": origins]
        object["accounts"] = portals.data.accounts.map {
            ["client": $0.client, "portal": $0.portal, "username": $0.username, "password": $0.password, "totp_secret": $0.totpSecret]
        }
        if let certificates { object["ca_certificate"] = certificates.caCertificate }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        print("Nightjar sandbox portals (seed \(seed)):")
        for (name, origin) in origins.sorted(by: { $0.key < $1.key }) { print("  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(origin)") }
        print("Demo accounts (sandbox only):")
        for account in portals.data.accounts { print("  \(account.client)/\(account.portal)  \(account.username)  \(account.password)  totp \(account.totpSecret)") }
    }
    signal(SIGPIPE, SIG_IGN)
    // Serve until standard input closes or a signal ends the process.
    _ = FileHandle.standardInput.readDataToEndOfFile()
    portals.stop()
    if json {
        // What each portal answered, for benchmarks that count requests.
        let counts = ["northwind": portals.northwind.requestCount, "tailspin": portals.tailspin.requestCount, "contoso": portals.contoso.requestCount]
        let data = try JSONSerialization.data(withJSONObject: ["requests": counts], options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
} catch {
    FileHandle.standardError.write(Data("nightjar-sandbox: \(error)\n".utf8))
    exit(70)
}
