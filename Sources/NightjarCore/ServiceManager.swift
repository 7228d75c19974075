import Foundation

/// Tells systemd how the service is doing (`sd_notify`'s protocol, written here: one datagram
/// to the socket named by `$NOTIFY_SOCKET`, no library). Does nothing when not run by systemd.
public enum ServiceManager {
    /// Sends `state` (`READY=1`, `WATCHDOG=1`, `STATUS=...`, `STOPPING=1`); false when there is
    /// no socket to send to or the send failed.
    @discardableResult
    public static func notify(_ state: String, environment: [String: String]? = nil) -> Bool {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@") else {
            return false
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        // An abstract socket (`@name`) starts with a NUL byte and is not NUL-terminated.
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes {
                    sendto(descriptor, $0.baseAddress, message.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        return sent == message.count
    }

    /// How often systemd wants a `WATCHDOG=1` (`$WATCHDOG_USEC`, for this process when
    /// `$WATCHDOG_PID` names one), or nil when it does not watch.
    public static func watchdogInterval(environment: [String: String]? = nil) -> Duration? {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else {
            return nil
        }
        if let pid = environment["WATCHDOG_PID"], let value = Int32(pid), value != getpid() { return nil }
        return .microseconds(microseconds)
    }

    /// Sends `WATCHDOG=1` at half the interval systemd asked for, for as long as the process
    /// works (a pool of threads that no longer runs tasks stops it, and systemd restarts the
    /// service). Returns the task, or nil when systemd does not watch.
    public static func startWatchdog(environment: [String: String]? = nil) -> Task<Void, Never>? {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let interval = watchdogInterval(environment: environment) else { return nil }
        return Task.detached {
            while !Task.isCancelled {
                notify("WATCHDOG=1", environment: environment)
                try? await Task.sleep(for: interval / 2)
            }
        }
    }
}
