#if canImport(Glibc)
import Glibc
import CSystem
#endif

/// Process-wide protections applied at start: no core dumps, not attachable by ordinary
/// debuggers, so a crash or a curious user cannot read secrets out of memory.
public enum ProcessHardening {
    /// Makes the process non-dumpable and sets the core-file limit to zero. Returns what took effect.
    @discardableResult
    public static func apply() -> (nonDumpable: Bool, noCoreFiles: Bool) {
        #if os(Linux)
        let dumpable = csystem_set_dumpable(0) == 0
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        let core = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0
        return (dumpable, core)
        #else
        return (false, false)
        #endif
    }

    /// Whether the process is currently non-dumpable (Linux).
    public static var isNonDumpable: Bool {
        #if os(Linux)
        return csystem_get_dumpable() == 0
        #else
        return false
        #endif
    }
}

/// What this process has used so far, for `--log-level debug`.
public enum ProcessResources {
    /// The resident high-water mark in KiB (VmHWM of /proc/self/status), or nil where there is none.
    public static func peakResidentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Int(
            line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
    }
}
