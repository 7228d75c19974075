import Foundation

/// One measured figure: `aead.seal 4 KiB` = 812.3 MB/s.
struct Figure: Codable {
    let benchmark: String
    let value: Double
    let unit: String
    /// The goal this figure is held to, when the product has one (e.g. "< 100 ms").
    let goal: String?
}

/// A benchmark: a name and a body that returns its figures. Each runs in its own process so
/// its peak memory is its own.
struct Benchmark {
    let name: String
    let summary: String
    let body: () throws -> [Figure]
}

/// The machine the figures come from.
enum Machine {
    static var description: String {
        let cpu =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory =
            (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("MemTotal") }?
            .split(separator: " ").dropFirst().first.flatMap { Double($0) }.map {
                String(format: "%.1f GiB", $0 / 1_048_576)
            } ?? "?"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(memory) RAM, Linux \(release)"
    }
}

/// Peak resident memory of this process so far, in MiB.
func peakMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Wall-clock seconds taken by `body`.
func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Runs `body` repeatedly for at least `minimum` seconds and returns seconds per iteration (best of 3 rounds).
func timePerIteration(minimum: Double = 0.5, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<3 {
        var iterations = 0
        let elapsed = try measure {
            let start = DispatchTime.now().uptimeNanoseconds
            repeat {
                try body()
                iterations += 1
            } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minimum / 3
        }
        best = min(best, elapsed / Double(iterations))
    }
    return best
}

enum Runner {
    static func main(benchmarks: [Benchmark]) -> Int32 {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--only", arguments.count == 2 {
            guard let benchmark = benchmarks.first(where: { $0.name == arguments[1] }) else { return 64 }
            do {
                let figures = try benchmark.body()
                let encoder = JSONEncoder()
                for figure in figures { print(String(decoding: try encoder.encode(figure), as: UTF8.self)) }
                let peak = Figure(
                    benchmark: benchmark.name + " peak memory", value: peakMemoryMiB(), unit: "MiB", goal: nil)
                print(String(decoding: try encoder.encode(peak), as: UTF8.self))
                return 0
            } catch {
                FileHandle.standardError.write(Data("\(benchmark.name): \(error)\n".utf8))
                return 1
            }
        }
        if arguments.first == "--list" {
            for benchmark in benchmarks { print("\(benchmark.name)\t\(benchmark.summary)") }
            return 0
        }
        let selected = arguments.isEmpty ? benchmarks : benchmarks.filter { arguments.contains($0.name) }
        print("Nightjar benchmarks (release build)")
        print("machine: \(Machine.description)")
        print("")
        print(
            "benchmark".padding(toLength: 66, withPad: " ", startingAt: 0)
                + "figure".padding(toLength: 14, withPad: " ", startingAt: 0)
                + "unit".padding(toLength: 10, withPad: " ", startingAt: 0) + "goal")
        var failed = false
        for benchmark in selected {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = ["--only", benchmark.name]
            let pipe = Pipe()
            process.standardOutput = pipe
            do { try process.run() } catch {
                print("\(benchmark.name): cannot start: \(error)")
                failed = true
                continue
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationStatus != 0 { failed = true }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                guard let figure = try? JSONDecoder().decode(Figure.self, from: Data(line.utf8)) else { continue }
                let value =
                    figure.value >= 100 ? String(format: "%.0f", figure.value) : String(format: "%.2f", figure.value)
                print(
                    figure.benchmark.padding(toLength: 66, withPad: " ", startingAt: 0)
                        + value.padding(toLength: 14, withPad: " ", startingAt: 0)
                        + figure.unit.padding(toLength: 10, withPad: " ", startingAt: 0) + (figure.goal ?? ""))
            }
        }
        return failed ? 1 : 0
    }
}
