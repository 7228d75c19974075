public import NightjarCore

/// Which profiles can read a file. A profile fits when its format suits the content, its
/// `[match]` conditions hold, and its first records read without a structural error (header
/// found, every row's kind known) and give at least one line. Two fitting profiles are never
/// chosen between silently: the caller refuses the file and names both.
public enum ProfileSelection {
    /// Records tried when deciding whether a profile fits.
    static let trialRecords = 50
    /// Bytes of a text file tried (cut at a line end).
    static let trialBytes = 256 * 1024

    /// Whether `profile` fits these bytes.
    public static func fits(_ profile: LayoutProfile, bytes: [UInt8], fileName: String) -> Bool {
        if !profile.matchFileNames.isEmpty, !profile.matchFileNames.contains(where: { $0.matches(fileName) }) { return false }
        guard let format = try? LayoutReader.format(of: bytes, profile: profile, file: fileName) else { return false }
        var sample = bytes
        if [.delimited, .fixedWidth, .jsonLines].contains(format), bytes.count > trialBytes {
            // A prefix cut at a line end is enough to find the header and the first rows' kinds.
            var end = trialBytes
            while end > 0, bytes[end - 1] != 10 { end -= 1 }
            sample = Array(bytes[..<(end > 0 ? end : trialBytes)])
        }
        if !profile.matchContains.isEmpty {
            let encoding = profile.encoding == .auto ? TextEncoding.detect(Array(bytes.prefix(65_536))) : profile.encoding
            let text = ((try? encoding.decode(Array(bytes.prefix(65_536)), file: nil)) ?? String(decoding: bytes.prefix(65_536), as: UTF8.self)).lowercased()
            guard profile.matchContains.allSatisfy({ text.contains($0.lowercased()) }) else { return false }
        }
        guard let reading = try? LayoutReader.read(sample, profile: profile, file: fileName, recordLimit: trialRecords) else { return false }
        return reading.rows.contains { $0.role == .line }
    }

    /// The profiles of `kind` that fit, in the order given.
    public static func fitting(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String) -> [LayoutProfile] {
        profiles.filter { $0.kind == kind && fits($0, bytes: bytes, fileName: fileName) }
    }

    /// The one profile of `kind` that fits, or why there is not exactly one.
    public static func choose(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String) -> Result<LayoutProfile, ChoiceError> {
        let fitting = fitting(profiles, kind: kind, bytes: bytes, fileName: fileName)
        switch fitting.count {
        case 1: return .success(fitting[0])
        case 0: return .failure(ChoiceError(fitting: [], considered: profiles.filter { $0.kind == kind }.map(\.name)))
        default: return .failure(ChoiceError(fitting: fitting.map(\.name), considered: []))
        }
    }

    /// No profile, or more than one, fits a file.
    public struct ChoiceError: Error, Sendable {
        /// The names of the profiles that fit (two or more), or empty when none does.
        public let fitting: [String]
        public let considered: [String]
    }
}
