import Foundation

#if canImport(Glibc)
import CSystem
#endif

/// A secret held in an anonymous in-memory file (`memfd`), for C libraries that insist on reading
/// a key from a path (libcurl's SSH private key and known_hosts): nothing reaches the disk, and
/// the file disappears when it is closed or the process ends.
public final class MemoryFile: @unchecked Sendable {
    private var descriptor: Int32
    /// A path that opens the file, for this process only (`/proc/self/fd/N`).
    public let path: String

    /// Holds `bytes` (read by `path`); fails when the system has no in-memory files.
    public init(_ bytes: [UInt8], name: String) throws {
        #if os(Linux)
        let descriptor = csystem_memory_file(name)
        #else
        let descriptor: Int32 = -1
        #endif
        guard descriptor >= 0 else {
            throw GeneralError(
                code: "memory_file.unavailable",
                message: "cannot create an in-memory file (\(String(cString: strerror(errno))))", exitStatus: .software)
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                _ = Foundation.close(descriptor)
                throw GeneralError(
                    code: "memory_file.write", message: "cannot write an in-memory file", exitStatus: .ioError)
            }
            offset += written
        }
        self.descriptor = descriptor
        path = "/proc/self/fd/\(descriptor)"
    }

    /// Closes the file (also done when it is released).
    public func close() {
        if descriptor >= 0 { _ = Foundation.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}
