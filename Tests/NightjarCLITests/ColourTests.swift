import Foundation
import NightjarCore
import Testing

/// Runs `nightjar ARGUMENTS` with standard output and standard error on a pseudo-terminal (python3's
/// pty), as a person at a terminal does; returns its exit status and everything it printed.
func runOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> BinaryRunner.Result {
    let script = """
        import os, pty, sys
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.argv[1], sys.argv[1:])
        out = b''
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        _, status = os.waitpid(pid, 0)
        sys.stdout.buffer.write(out)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    var env = environment
    env["TERM"] = env["TERM"] ?? "xterm"
    return try BinaryRunner.run(
        ["-c", script, BinaryRunner.executable("nightjar").path] + arguments, environment: env,
        program: "python3", installedIn: "/usr/bin")
}

@Suite("Colour", .serialized)
struct ColourTests {
    static let escape = "\u{1B}["

    @Test func colourOnATerminalNoneWithNoColourOrThroughAPipe() throws {
        let home = BinaryRunner.temporaryFolder("colour")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let noColour = ["NO_COLOR": ""]

        // On a terminal: the doctor's checks in green, an error's prefix in red.
        let doctor = try runOnTerminal(["--home", home, "doctor"], environment: noColour)
        #expect(doctor.status == 0, "\(doctor.stdout)")
        #expect(doctor.stdout.contains("\(Self.escape)32mok\(Self.escape)0m"), "\(doctor.stdout.debugDescription)")
        let missing = try runOnTerminal(["--home", home, "batches"], environment: noColour)
        #expect(missing.status == 66)
        #expect(
            missing.stdout.contains("nightjar: \(Self.escape)31merror:\(Self.escape)0m "),
            "\(missing.stdout.debugDescription)")

        // NO_COLOR set (to anything): no escape at all, on the terminal too.
        for value in ["1", "yes"] {
            let plain = try runOnTerminal(["--home", home, "doctor"], environment: ["NO_COLOR": value])
            #expect(plain.status == 0)
            #expect(plain.stdout.contains("ok  "))
            #expect(!plain.stdout.contains(Self.escape), "\(plain.stdout.debugDescription)")
            let plainError = try runOnTerminal(["--home", home, "batches"], environment: ["NO_COLOR": value])
            #expect(plainError.stdout.contains("nightjar: error: "))
            #expect(!plainError.stdout.contains(Self.escape))
        }
        // TERM=dumb: none either.
        let dumb = try runOnTerminal(["--home", home, "doctor"], environment: ["NO_COLOR": "", "TERM": "dumb"])
        #expect(!dumb.stdout.contains(Self.escape))

        // Piped: none.
        let piped = try BinaryRunner.run(["--home", home, "doctor"], environment: noColour)
        #expect(piped.stdout.contains("ok  "))
        #expect(!piped.stdout.contains(Self.escape))
        let pipedError = try BinaryRunner.run(["--home", home, "batches"], environment: noColour)
        #expect(pipedError.stderr.hasPrefix("nightjar: error: "), "\(pipedError.stderr)")
        #expect(!pipedError.stderr.contains(Self.escape))
    }

    @Test func paintIsPlainWhenDisabled() {
        #expect(Paint(enabled: true)("FAIL", .red) == "\u{1B}[31mFAIL\u{1B}[0m")
        #expect(Paint.none("FAIL", .red) == "FAIL")
        #expect(Paint.environmentAllowsColour([:]))
        #expect(Paint.environmentAllowsColour(["NO_COLOR": ""]))
        #expect(!Paint.environmentAllowsColour(["NO_COLOR": "1"]))
        #expect(!Paint.environmentAllowsColour(["TERM": "dumb"]))
    }
}
