import Foundation
import Testing

/// Runs the built `nightjar` executable as a user would, capturing everything it prints.
struct BinaryRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The folder that holds the built products (the test runner lives in it too).
    static let productsDirectory: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL,
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug"),
        ]
        for candidate in candidates
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("nightjar").path) {
            return candidate
        }
        return candidates.last!
    }()

    static func executable(_ name: String) -> URL { productsDirectory.appendingPathComponent(name) }

    static func run(
        _ arguments: [String], stdin: String = "", environment: [String: String] = [:],
        directory: String? = nil, program: String = "nightjar", installedIn bin: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = bin.map { URL(fileURLWithPath: $0 + "/" + program) } ?? executable(program)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NIGHTJAR_HOME")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // A program that exits without reading its input (a refused argument) closes the pipe
        // first: that is its answer, not the runner's failure.
        try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so a full pipe cannot block the child.
        let errorData = LockedData()
        let reader = Thread { errorData.set(error.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.done { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errorData.value, as: UTF8.self))
    }

    /// Runs another program (a shell, `hledger`, `bean-check`) and returns its exit status and
    /// what it printed, standard output and error together in the order it wrote them.
    static func tool(_ path: String, _ arguments: [String], directory: String? = nil) throws -> (
        status: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// `nightjar` and `nightjar-sandbox` copied alone into `folder/bin` (nothing of the checkout beside
    /// them), as a user who installed them has them; returns that folder.
    static func installedCopy(in folder: String, programs: [String] = ["nightjar", "nightjar-sandbox"]) throws -> String
    {
        let bin = folder + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for program in programs {
            try FileManager.default.copyItem(atPath: executable(program).path, toPath: bin + "/" + program)
        }
        return bin
    }

    /// A new empty folder under the temporary directory.
    static func temporaryFolder(_ label: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nj-\(label)-\(UUID().uuidString)")
            .path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var finished = false
    func set(_ value: Data) {
        lock.lock()
        data = value
        finished = true
        lock.unlock()
    }
    var done: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }
    var value: Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}
