import Foundation
import Testing

@testable import NightjarCLI

/// The Debian packages `make deb` builds (NIGHTJAR_DEB_DIR, else the checkout's .build/deb).
enum DebianPackages {
    static let directory = ProcessInfo.processInfo.environment["NIGHTJAR_DEB_DIR"] ?? checkoutRoot + "/.build/deb"

    /// The newest `NAME_VERSION_ARCH.deb` in the folder.
    static func file(_ name: String) -> String? {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasPrefix(name + "_") && $0.hasSuffix(".deb") }.sorted().last.map {
            directory + "/" + $0
        }
    }

    static var built: Bool { file("nightjar") != nil && file("nightjar-sandbox") != nil }
}

/// Runs `program` with exactly `environment` (as `env -i` would), capturing what it prints.
func runClean(_ program: String, _ arguments: [String], environment: [String: String], directory: String? = nil) throws
    -> BinaryRunner.Result
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = environment
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    let error = Pipe()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let errorData = LockedData()
    let reader = Thread { errorData.set(error.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errorData.done { usleep(1000) }
    return BinaryRunner.Result(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errorData.value, as: UTF8.self))
}

/// The Debian packages, as a user who installs them gets them: `make test` builds them first (`make deb`).
@Suite(
    "Debian packages", .serialized,
    .enabled(if: DebianPackages.built, "no packages in \(DebianPackages.directory): run `make deb` (make test does)"))
struct PackageTests {
    static let packages = ["nightjar", "nightjar-sandbox"]

    /// Both packages unpacked into one temporary root.
    static func unpacked() throws -> String {
        let root = BinaryRunner.temporaryFolder("deb-root")
        for package in packages {
            let result = try runClean(
                "/usr/bin/dpkg-deb", ["-x", DebianPackages.file(package)!, root], environment: ["PATH": "/usr/bin:/bin"]
            )
            #expect(result.status == 0, "\(result.stderr)")
        }
        return root
    }

    static func field(_ name: String, of package: String) throws -> String {
        try runClean(
            "/usr/bin/dpkg-deb", ["-f", DebianPackages.file(package)!, name], environment: ["PATH": "/usr/bin:/bin"]
        )
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theUnpackedPackagesRunTheVersionTheDoctorAndTheDemoInACleanEnvironment() throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = BinaryRunner.temporaryFolder("deb-home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        // Only the unpacked programs and the system's own on PATH; an empty HOME; nothing else.
        let environment = ["PATH": "\(root)/usr/bin:/usr/bin:/bin", "HOME": home]
        let nightjar = root + "/usr/bin/nightjar"

        let version = try runClean(nightjar, ["--version"], environment: environment, directory: home)
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout == "nightjar \(NightjarVersion.current)\n")
        #expect(try Self.field("Version", of: "nightjar") == NightjarVersion.current + "-1")

        let doctor = try runClean(nightjar, ["doctor"], environment: environment, directory: home)
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        #expect(doctor.stdout.contains("All checks passed."))
        #expect(doctor.stdout.contains("IANA database present"))

        let demo = try runClean(
            nightjar, ["demo", "--keep", home + "/demo"], environment: environment, directory: home)
        #expect(demo.status == 0, "\(demo.stdout)\(demo.stderr)")
        #expect(demo.stdout.contains("Nightjar run 1"))
        #expect(demo.stdout.contains("paid_in_full"))
        #expect(demo.stdout.contains("Starting the sandbox portals"))
    }

    @Test func theProgramsLinkOnlyLibrariesDebianPackagesProvide() throws {
        let root = try Self.unpacked()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for program in ["nightjar", "nightjar-sandbox"] {
            let ldd = try runClean(
                "/usr/bin/ldd", [root + "/usr/bin/" + program], environment: ["PATH": "/usr/bin:/bin"])
            #expect(ldd.status == 0, "\(ldd.stderr)")
            #expect(!ldd.stdout.contains("not found"), "\(ldd.stdout)")
            #expect(!ldd.stdout.contains("swift"), "the Swift runtime is linked in statically: \(ldd.stdout)")
            // `libcurl.so.4 => /lib/x86_64-linux-gnu/libcurl.so.4 (0x...)` and the loader's `/lib64/ld-linux-x86-64.so.2 (0x...)`.
            let paths = ldd.stdout.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ").map(String.init)
                if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") {
                    return words[arrow + 1]
                }
                return words.first.flatMap { $0.hasPrefix("/") ? $0 : nil }
            }
            #expect(
                paths.contains { $0.hasSuffix("/libc.so.6") } && paths.contains { $0.hasSuffix("/libssl.so.3") },
                "\(ldd.stdout)")
            for path in paths {
                #expect(
                    try Self.debianPackage(owning: path) != nil,
                    "\(program) links \(path), which no Debian package provides")
            }
        }
        // dpkg-shlibdeps named the libraries' packages in Depends.
        let depends = try Self.field("Depends", of: "nightjar")
        for package in [
            "libc6", "libcurl4", "libssl3", "libsqlite3-0", "libargon2-1", "libxml2", "libmicrohttpd12",
            "libgmime-3.0-0",
        ] {
            #expect(depends.contains(package), "Depends: \(depends)")
        }
        #expect(try Self.field("Depends", of: "nightjar-sandbox").contains("libssl3"))
    }

    /// The package whose file list holds `path` (or the path it resolves to, or its twin across the /usr merge).
    static func debianPackage(owning path: String) throws -> String? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var candidates = [path, resolved]
        for candidate in [path, resolved] {
            candidates.append(candidate.hasPrefix("/usr/") ? String(candidate.dropFirst(4)) : "/usr" + candidate)
        }
        for candidate in candidates {
            let owner = try runClean("/usr/bin/dpkg", ["-S", candidate], environment: ["PATH": "/usr/bin:/bin"])
            if owner.status == 0, let name = owner.stdout.split(separator: ":").first { return String(name) }
        }
        return nil
    }

    @Test func lintianFindsNoErrors() throws {
        let files = Self.packages.map { DebianPackages.file($0)! }
        let lintian = try runClean(
            "/usr/bin/lintian", ["--fail-on", "error", "--display-info"] + files,
            environment: ["PATH": "/usr/bin:/bin", "HOME": BinaryRunner.temporaryFolder("lintian-home")])
        #expect(lintian.status == 0, "\(lintian.stdout)\(lintian.stderr)")
        let errors = lintian.stdout.split(separator: "\n").filter { $0.hasPrefix("E:") }
        #expect(errors.isEmpty, "\(errors.joined(separator: "\n"))")
        // Every file is root's, as `dpkg-deb --root-owner-group` makes it.
        for file in files {
            let listing = try runClean("/usr/bin/dpkg-deb", ["-c", file], environment: ["PATH": "/usr/bin:/bin"])
            #expect(
                listing.stdout.split(separator: "\n").allSatisfy { $0.contains(" root/root ") }, "\(listing.stdout)")
        }
    }
}
