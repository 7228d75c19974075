import Foundation
import Testing

/// Files far larger than memory should hold: imported in bounded memory, or refused with their
/// size named when over the workspace's `max_file_size`.
@Suite("Large files", .serialized)
struct LargeFileTests {
    struct Measured {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The child's peak resident memory: VmHWM, read from /proc every few milliseconds while it
        /// ran (0 when it ended before the first look). Not wait4's ru_maxrss, which also counts
        /// the test process's own memory from before the child's exec.
        let peakKiB: Int
    }

    static func highWaterKiB(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// Runs the built `nightjar` as a child process of its own and measures its peak memory.
    static func runMeasured(_ arguments: [String], folder: String) throws -> Measured {
        let out = folder + "/stdout"
        let err = folder + "/stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let executable = BinaryRunner.executable("nightjar").path
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NIGHTJAR_HOME")
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var polled = 0
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { throw POSIXError(.ECHILD) }
            if let now = highWaterKiB(pid) { polled = max(polled, now) }
            usleep(5_000)
        }
        let exited = status & 0x7F == 0
        return Measured(
            status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F),
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "",
            peakKiB: polled)
    }

    /// An 820 of `sets` payments, each of 50 lines and about 500 KB of NTE notes (which the
    /// reader passes over): about `sets` × 0.5 MB in all.
    static func write820(to path: String, sets: Int) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(
            contentsOf: Data(
                "ISA*00*          *00*          *ZZ*RETAILER       *ZZ*SUPPLIER       *261124*0100*U*00401*000000001*0*P*>~\nGS*RA*RETAILER*SUPPLIER*20261124*0100*1*X*004010~\n"
                    .utf8))
        let note = "NTE*REM*" + String(repeating: "REMITTANCE NOTE ", count: 3_900) + "~\n"
        for set in 0..<sets {
            var segments = [
                "ST*820*\(set + 1)",
                "BPR*C*5000.00*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*20261124",
                "TRN*1*TRACE\(set)*1234567890", "N1*PR*RETAILER CO*92*V123", "ENT*1",
            ]
            for line in 0..<50 { segments += ["RMR*IV*INV\(set)-\(line)*PI*100.00*100.00", "DTM*003*20261101"] }
            var text = segments.joined(separator: "~\n") + "~\n"
            for _ in 0..<8 { text += note }
            text += "SE*\(segments.count + 8 + 1)*\(set + 1)~\n"
            try handle.write(contentsOf: Data(text.utf8))
        }
        try handle.write(contentsOf: Data("GE*\(sets)*1~\nIEA*1*000000001~\n".utf8))
    }

    @Test func a200MBFileImportsInBoundedMemory() throws {
        let parent = BinaryRunner.temporaryFolder("large")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let path = parent + "/big.x12"
        try LargeFileTests.write820(to: path, sets: 400)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        #expect(size > 200_000_000)
        let result = try LargeFileTests.runMeasured(
            ["--home", root, "import", path, "--client", "acme"], folder: parent)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("big.x12: 400 batch(es), 20000 line(s)"), "\(result.stdout)")
        // Reading the file whole would take more than its 200 MB; the reader holds one payment at a time.
        #expect(result.peakKiB > 10 * 1024, "the child's memory was never read")
        #expect(
            result.peakKiB < 100 * 1024, "peak RSS \(result.peakKiB / 1024) MiB importing a \(size / 1_000_000) MB file"
        )
    }

    @Test func aFileOverTheConfiguredMaximumIsRefusedWithItsSize() throws {
        let parent = BinaryRunner.temporaryFolder("too-large")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let config = try String(contentsOfFile: root + "/nightjar.conf", encoding: .utf8)
        try (config + "\n[workspace]\nmax_file_size = \"100 MB\"\n").write(
            toFile: root + "/nightjar.conf", atomically: true, encoding: .utf8)
        // A sparse 1 GB file: its size is real, its disk use is not.
        let path = parent + "/huge.csv"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        for command in [
            ["import", path], ["invoices", "import", path], ["po", "import", path], ["catalog", "import", path],
        ] {
            let result = try LargeFileTests.runMeasured(
                ["--home", root] + command + ["--client", "acme"], folder: parent)
            #expect(result.status == 65, "\(command): \(result.status) \(result.stderr)")
            #expect(
                result.stderr.contains("1073741824 bytes") && result.stderr.contains("max_file_size"),
                "\(command): \(result.stderr)")
        }
    }
}
