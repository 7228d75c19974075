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
        trial(profile, bytes: bytes, fileName: fileName).misfit
    }

    /// `misfit`, and when the profile fits and its trial read every record of `bytes` (fewer than
    /// `trialRecords`), the rows it read: those of the whole file.
    static func trial(_ profile: LayoutProfile, bytes: [UInt8], fileName: String) -> (
        misfit: String?, rows: [LayoutReading.Row]?
    ) {
        if !profile.matchFileNames.isEmpty, !profile.matchFileNames.contains(where: { $0.matches(fileName) }) {
            return (
                "the file name fits none of " + profile.matchFileNames.map(\.description).joined(separator: ", "), nil
            )
        }
        let format: LayoutProfile.Format
        do { format = try LayoutReader.format(of: bytes, profile: profile, file: fileName) } catch {
            return (error.message, nil)
        }
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
            if let missing = profile.matchContains.first(where: { !text.contains($0.lowercased()) }) {
                return ("the file does not contain \"\(missing)\"", nil)
            }
        }
        let reading: LayoutReading
        do {
            reading = try LayoutReader.read(sample, profile: profile, file: fileName, recordLimit: trialRecords)
            let lines = reading.rows.filter { $0.role == .line }
            guard !lines.isEmpty else { return ("its first records hold no line", nil) }
            let values = LayoutValues(profile: profile, file: fileName)
            switch profile.kind {
            case .remittance:
                var assembly = RemittanceAssembly(values: values, defaultCurrency: profile.currency ?? .usd)
                for row in reading.rows { try assembly.add(row) }
                _ = try assembly.finish()
            case .openInvoices, .supplierInvoices:
                for row in lines {
                    for field in LayoutProfile.required(profile.kind) where row.value(field) == nil {
                        return ("\(row.location): \(field) is empty", nil)
                    }
                }
            }
        } catch {
            return (error.description, nil)
        }
        // The trial stops at `trialRecords` rows: fewer means it read them all.
        return (nil, sample.count == bytes.count && reading.rows.count < trialRecords ? reading.rows : nil)
    }

    /// The profiles of `kind` that fit, in the order given.
    public static func fitting(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String)
        -> [LayoutProfile]
    {
        profiles.filter { $0.kind == kind && fits($0, bytes: bytes, fileName: fileName) }
    }

    /// The bytes of a file that deciding which profile fits reads: a text file's start (what
    /// `misfit` tries anyway), or the whole of a workbook, page or JSON document up to the cap
    /// on files read whole.
    public static func trialBytes(_ source: any ByteSource) throws(InputError) -> [UInt8] {
        switch try DocumentFormat.detect(source) {
        case .xlsx, .html:
            return try source.allBytes(limit: LayoutReader.maximumWholeFileBytes, what: "a workbook or page")
        case .json where source.size <= LayoutReader.maximumWholeFileBytes: return try source.prefix(source.size)
        default: return try source.prefix(trialBytes + 1)
        }
    }

    /// `choose` over a file read in chunks: only `trialBytes(source)` is read.
    public static func choose(
        _ profiles: [LayoutProfile], kind: LayoutProfile.Kind, source: any ByteSource, fileName: String
    ) -> Result<LayoutProfile, ChoiceError> {
        do {
            return choose(profiles, kind: kind, bytes: try trialBytes(source), fileName: fileName)
        } catch {
            return .failure(
                ChoiceError(fitting: [], reasons: profiles.filter { $0.kind == kind }.map { ($0.name, error.message) }))
        }
    }

    /// The one profile of `kind` that fits, or why there is not exactly one.
    public static func choose(_ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String)
        -> Result<LayoutProfile, ChoiceError>
    {
        chooseReading(profiles, kind: kind, bytes: bytes, fileName: fileName).map(\.profile)
    }

    /// A profile chosen for a whole file, with the rows its trial read when they are all the
    /// file's (`RemittanceLayoutReader.read(_:bytes:...)` then reads no record twice).
    public struct Choice: Sendable {
        public let profile: LayoutProfile
        let rows: [LayoutReading.Row]?

        /// A profile chosen without its trial's rows (they are read again).
        public init(profile: LayoutProfile) { self.init(profile: profile, rows: nil) }

        init(profile: LayoutProfile, rows: [LayoutReading.Row]?) {
            self.profile = profile
            self.rows = rows
        }
    }

    /// `choose` over a whole file (`bytes`), keeping the rows the chosen profile's trial read.
    public static func chooseReading(
        _ profiles: [LayoutProfile], kind: LayoutProfile.Kind, bytes: [UInt8], fileName: String
    ) -> Result<Choice, ChoiceError> {
        var fitting: [Choice] = []
        var reasons: [(profile: String, reason: String)] = []
        for profile in profiles where profile.kind == kind {
            let trial = trial(profile, bytes: bytes, fileName: fileName)
            if let reason = trial.misfit {
                reasons.append((profile.name, reason))
            } else {
                fitting.append(Choice(profile: profile, rows: trial.rows))
            }
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
            reasons.isEmpty
                ? "there are no profiles of this kind"
                : reasons.map { "\($0.profile): \($0.reason)" }.joined(separator: "; ")
        }
    }
}

extension RemittanceLayoutReader {
    /// `read(_:profile:defaultCurrency:file:into:)` over `bytes`, the whole file, by the profile
    /// `choice` names: when a small file's rows are those the choice's trial read already, they
    /// are not read again (the same rows, payments and errors as reading the file once).
    public static func read(
        _ choice: ProfileSelection.Choice, bytes: [UInt8], defaultCurrency: CurrencyCode, file: String?,
        into sink: any RemittanceSink
    ) throws {
        let profile = choice.profile
        guard let rows = choice.rows, profile.kind == .remittance, !profile.hasPaymentRecords,
            bytes.count <= smallFileBytes
        else {
            try read(
                MemorySource(bytes, name: file), profile: profile, defaultCurrency: defaultCurrency, file: file,
                into: sink)
            return
        }
        // As `readSmall` after its reading, which met no error (the trial read every row).
        var assembly = RemittanceAssembly(
            values: LayoutValues(profile: profile, file: file), defaultCurrency: defaultCurrency)
        try assemble(rows, readError: nil, assembly: &assembly, into: sink)
    }
}
