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
        misfit(profile, bytes: bytes, fileName: fileName) == nil
    }

    /// Why `profile` does not fit these bytes, or nil when it does: its first records must read as
    /// the profile says (header found, every row's kind known, amounts, dates and references
    /// readable) and give at least one line.
    public static func misfit(_ profile: LayoutProfile, bytes: [UInt8], fileName: String) -> String? {
        trial(profile, bytes: bytes, fileName: fileName, defaultCurrency: nil).misfit
    }

    /// What trying a profile found: why it does not fit (nil when it does) and, when the trial
    /// read the whole file as remittances with the currency a full read would assume, the advices
    /// (a full read of the same bytes gives the same ones).
    struct Trial {
        var misfit: String?
        var remittances: [RemittanceAdvice]?
    }

    static func trial(_ profile: LayoutProfile, bytes: [UInt8], fileName: String, defaultCurrency: CurrencyCode?) -> Trial {
        if !profile.matchFileNames.isEmpty, !profile.matchFileNames.contains(where: { $0.matches(fileName) }) {
            return Trial(misfit: "the file name fits none of " + profile.matchFileNames.map(\.description).joined(separator: ", "))
        }
        let format: LayoutProfile.Format
        do { format = try LayoutReader.format(of: bytes, profile: profile, file: fileName) } catch { return Trial(misfit: error.message) }
        var sample = bytes
        if [.delimited, .fixedWidth, .jsonLines].contains(format), bytes.count > trialBytes {
            // A prefix cut at a line end is enough to find the header and read the first rows.
            var end = trialBytes
            while end > 0, bytes[end - 1] != 10 { end -= 1 }
            sample = Array(bytes[..<(end > 0 ? end : trialBytes)])
        }
        if !profile.matchContains.isEmpty {
            let head = Array(bytes.prefix(65_536))
            let encoding = profile.encoding == .auto ? TextEncoding.detect(head) : profile.encoding
            let text = ((try? encoding.decode(head, file: nil)) ?? String(decoding: head, as: UTF8.self)).lowercased()
            if let missing = profile.matchContains.first(where: { !text.contains($0.lowercased()) }) { return Trial(misfit: "the file does not contain \"\(missing)\"") }
        }
        do {
            let reading = try LayoutReader.read(sample, profile: profile, file: fileName, recordLimit: trialRecords)
            let lines = reading.rows.filter { $0.role == .line }
            guard !lines.isEmpty else { return Trial(misfit: "its first records hold no line") }
            let values = LayoutValues(profile: profile, file: fileName)
            switch profile.kind {
            case .remittance:
                var assembly = RemittanceAssembly(values: values, defaultCurrency: profile.currency ?? .usd)
                for row in reading.rows { try assembly.add(row) }
                let advices = try assembly.finish()
                // The whole file was read (no prefix, the record limit not reached) with the currency a full read assumes.
                let whole = sample.count == bytes.count && reading.rows.count < trialRecords
                if whole, let defaultCurrency, (profile.currency ?? .usd) == (profile.currency ?? defaultCurrency) {
                    return Trial(misfit: nil, remittances: advices)
                }
            case .openInvoices, .supplierInvoices:
                for row in lines {
                    for field in LayoutProfile.required(profile.kind) where row.value(field) == nil {
                        return Trial(misfit: "\(row.location): \(field) is empty")
                    }
                }
            }
        } catch {
            return Trial(misfit: error.description)
        }
        return Trial(misfit: nil)
    }

    /// The profiles of `kind` that fit, in the order given.
    public static func fitting(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String) -> [LayoutProfile] {
        profiles.filter { $0.kind == kind && fits($0, bytes: bytes, fileName: fileName) }
    }

    /// The one profile of `kind` that fits, or why there is not exactly one.
    public static func choose(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String) -> Result<LayoutProfile, ChoiceError> {
        choosing(profiles, kind: kind, bytes: bytes, fileName: fileName, defaultCurrency: nil).map(\.profile)
    }

    /// The one remittance profile that fits, or why there is not exactly one; with the advices
    /// when its trial read the whole file (as `RemittanceLayoutReader.read` with `defaultCurrency`
    /// would), so a small file is not read twice.
    public static func chooseRemittances(_ profiles: [LayoutProfile], bytes: [UInt8], fileName: String, defaultCurrency: CurrencyCode)
        -> Result<(profile: LayoutProfile, advices: [RemittanceAdvice]?), ChoiceError> {
        choosing(profiles, kind: .remittance, bytes: bytes, fileName: fileName, defaultCurrency: defaultCurrency)
    }

    static func choosing(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String, defaultCurrency: CurrencyCode?)
        -> Result<(profile: LayoutProfile, advices: [RemittanceAdvice]?), ChoiceError> {
        var fitting: [(profile: LayoutProfile, advices: [RemittanceAdvice]?)] = []
        var reasons: [(profile: String, reason: String)] = []
        for profile in profiles where profile.kind == kind {
            let trial = trial(profile, bytes: bytes, fileName: fileName, defaultCurrency: defaultCurrency)
            if let reason = trial.misfit { reasons.append((profile.name, reason)) } else { fitting.append((profile, trial.remittances)) }
        }
        switch fitting.count {
        case 1: return .success(fitting[0])
        case 0: return .failure(ChoiceError(fitting: [], reasons: reasons))
        default: return .failure(ChoiceError(fitting: fitting.map(\.profile.name), reasons: []))
        }
    }

    /// No profile, or more than one, fits a file.
    public struct ChoiceError: Error, Sendable {
        /// The names of the profiles that fit (two or more), or empty when none does.
        public let fitting: [String]
        /// When none fits: each profile tried and why it does not fit.
        public let reasons: [(profile: String, reason: String)]

        /// Each profile tried and why not, for a message: `harbor (line 3: ...); acme (...)`.
        public var explanation: String {
            reasons.isEmpty ? "there are no profiles of this kind" : reasons.map { "\($0.profile): \($0.reason)" }.joined(separator: "; ")
        }
    }
}
